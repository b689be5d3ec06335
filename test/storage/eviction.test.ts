import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { z } from 'zod';
import type { RedisBackend } from '../../src/backend/redis/redis-backend';
import { RedisRoomRestore } from '../../src/backend/redis/redis-room-restore';
import { defineEvent } from '../../src/core/events/event-definition';
import { handlers } from '../../src/modules/handlers';
import type { SwarmNode } from '../../src/node';
import { OpenClients } from '../helpers/client';
import { eventsUrl } from '../helpers/nodes';
import { TestRedisCluster } from '../helpers/redis-cluster';
import { StorageTestbed } from '../helpers/storage-nodes';
import { waitFor } from '../helpers/wait';
import { destroyAll, provider, synced } from '../yjs/yjs-helpers';

/** A room event kept in a stream of its own, as an app's event definition may declare. */
const move = defineEvent({
  type: 'test.move',
  scope: 'room',
  access: 'write',
  stream: 'moves',
  data: z.object({ to: z.number() }),
});

/** Every Redis key of the room but its remembered ids (on a cluster, on the master that owns its slot), and its index entry. */
async function roomKeys(testbed: StorageTestbed, prefix: string, room: string): Promise<string[]> {
  const server = testbed.redis;
  const client =
    server instanceof TestRedisCluster
      ? server.node((await server.ownerOf(`${prefix}:room:{${room}}`)).port)
      : server.client();
  try {
    const all = await client.keys(`${prefix}:room:{${room}}*`);
    // The room's remembered event ids are left to expire (each has a TTL, checked here),
    // so that a resend after the room is back is still recognised.
    const ids = all.filter((key) => key.includes(':events:id:'));
    for (const key of ids) assert.ok((await client.pttl(key)) > 0, `${key} expires`);
    const keys = all.filter((key) => !ids.includes(key));
    const index = server instanceof TestRedisCluster ? server.client() : client;
    const indexed = await index.zscore(`${prefix}:storage:rooms`, room);
    if (index !== client) index.disconnect();
    return indexed === null ? keys : [...keys, `index entry of ${room}`];
  } finally {
    client.disconnect();
  }
}

for (const on of ['one Redis', 'a Redis Cluster'] as const)
  describe(`cold rooms leave ${on}`, () => {
    let testbed: StorageTestbed;
    const clients = new OpenClients();
    let nodes: SwarmNode[] = [];
    let prefix = '';
    before(async () => {
      testbed = await StorageTestbed.start({ cluster: on === 'a Redis Cluster' });
    });
    afterEach(async () => {
      clients.terminateAll();
      destroyAll();
      await testbed.stopNodes();
    });
    after(async () => {
      await testbed?.close();
    });

    async function cluster(count: number, idleMs: number): Promise<void> {
      const env = { PERSIST_DELAY_MS: '30', ROOM_IDLE_MS: String(idleMs) };
      ({ nodes, prefix } = await testbed.nodes(count, { env, node: { handlers: [...handlers, move] } }));
    }

    const roomKeysOf = (room: string) => roomKeys(testbed, prefix, room);

    it('removes every key of a room nobody is in, and loads it back with offsets continuing', async () => {
      await cluster(2, 400);
      const editor = await synced(provider(nodes[0]!, 'cold'));
      editor.doc.getText('t').insert(0, 'kept in PostgreSQL');
      const client = await clients.connect(eventsUrl(nodes[1]!));
      await client.join('cold');
      await client.request('room.state.set', { room: 'cold', data: { key: 'k', value: 'v' } });
      const last = (await client.request('chat.message', { room: 'cold', data: { text: 'last' } })) as {
        offset: number;
      };
      const check = await synced(provider(nodes[1]!, 'cold'));
      await waitFor(
        () => check.doc.getText('t').toString() === 'kept in PostgreSQL',
        'the edit on the server',
      );
      assert.ok((await roomKeysOf('cold')).length > 0);
      clients.terminateAll();
      destroyAll();

      await waitFor(
        async () => (await roomKeysOf('cold')).length === 0,
        'no key of the room left in Redis',
        10_000,
      );

      const fresh = await synced(provider(nodes[1]!, 'cold'), 10_000);
      assert.equal(fresh.doc.getText('t').toString(), 'kept in PostgreSQL');
      const back = await (await clients.connect(eventsUrl(nodes[0]!))).join('cold', {
        since: last.offset - 1,
      });
      assert.deepEqual(back.state, { k: 'v' });
      assert.equal(back.recovered, true);
      assert.ok(back.offset > last.offset, 'the leave was appended after the last message');
    });

    it('keeps a room that has a member, however long it is quiet', async () => {
      await cluster(1, 200);
      const client = await clients.connect(eventsUrl(nodes[0]!));
      await client.join('occupied');
      await client.request('chat.message', { room: 'occupied', data: { text: 'hi' } });
      const evictions = async () =>
        (await nodes[0]!.metrics.registry.getSingleMetric('swarmcast_storage_rooms_evicted_total')?.get())
          ?.values[0]?.value ?? 0;
      // Two whole idle periods and a sweep: the room is a candidate, and is refused.
      const quietSince = Date.now();
      await waitFor(() => Date.now() - quietSince > 700, 'two idle periods');
      assert.equal(await evictions(), 0);
      assert.ok((await roomKeysOf('occupied')).some((key) => key.endsWith(':events:seq')));
    });

    it('does nothing when something was appended after the last copy', async () => {
      await cluster(1, 0);
      const client = await clients.connect(eventsUrl(nodes[0]!));
      await client.join('late');
      await client.request('chat.message', { room: 'late', data: { text: 'copied' } });
      await client.request('room.leave', { data: { room: 'late' } });
      const backend = nodes[0]!.backend as RedisBackend;
      const restore = new RedisRoomRestore(backend);
      await waitFor(async () => {
        const copied = await backend.redis.get(`${backend.keys.prefix}:room:{late}:storage:copied`);
        const seq = await backend.redis.get(backend.keys.seq('late', 'events'));
        return copied?.startsWith(`${seq}|`);
      }, 'the room copied');
      // An append the copy has not seen yet (as a script on another node would make it).
      await backend.redis.incr(backend.keys.seq('late', 'events'));
      assert.equal(await restore.evict('late'), false);
      assert.ok((await roomKeysOf('late')).length > 0);
    });

    it('keeps a room a node is subscribed to with no member listed, and removes it once unsubscribed', async () => {
      await cluster(1, 0);
      const client = await clients.connect(eventsUrl(nodes[0]!));
      await client.join('watched');
      await client.request('chat.message', { room: 'watched', data: { text: 'copied' } });
      await client.request('room.leave', { data: { room: 'watched' } });
      const backend = nodes[0]!.backend as RedisBackend;
      const restore = new RedisRoomRestore(backend);
      await waitFor(async () => {
        const copied = await backend.redis.get(`${backend.keys.prefix}:room:{watched}:storage:copied`);
        const seq = await backend.redis.get(backend.keys.seq('watched', 'events'));
        return copied?.startsWith(`${seq}|`);
      }, 'the room copied');
      // A node opening the room subscribes to its channel before it reads it (and before any
      // member is listed): on a cluster the channel is sharded, counted by SHARDNUMSUB.
      await backend.bus.subscribe('watched');
      assert.equal(await restore.evict('watched'), false);
      assert.ok((await roomKeysOf('watched')).some((key) => key.endsWith(':events:seq')));
      await backend.bus.unsubscribe('watched');
      await waitFor(() => restore.evict('watched'), 'the room removed once no node is subscribed');
      // The index entry is the evictor's to drop (restore.evict is only the Redis step).
      assert.deepEqual(await roomKeysOf('watched'), ['index entry of watched']);
    });

    it('leaves a stream of the app’s own in Redis when the room is evicted, its offsets continuing after the reload', async () => {
      await cluster(1, 300);
      const client = await clients.connect(eventsUrl(nodes[0]!));
      await client.join('board');
      await client.request('chat.message', { room: 'board', data: { text: 'kept in PostgreSQL' } });
      for (let to = 1; to <= 2; to++) await client.request('test.move', { room: 'board', data: { to } });
      clients.terminateAll();
      // The events stream leaves Redis; the moves stream is not in the database, so it stays.
      await waitFor(
        async () => !(await roomKeysOf('board')).some((key) => key.endsWith(':events:seq')),
        'the room evicted',
        10_000,
      );
      const left = await roomKeysOf('board');
      assert.deepEqual(left.filter((key) => !key.includes(':moves:')).sort(), []);
      assert.ok(left.some((key) => key.endsWith(':moves:seq')));
      const again = await clients.connect(eventsUrl(nodes[0]!));
      const joined = await again.join('board');
      assert.ok(joined.offset >= 3, 'the events stream loaded back: its offsets continue');
      const next = (await again.request('test.move', { room: 'board', data: { to: 3 } })) as {
        offset: number;
      };
      assert.equal(next.offset, 3, 'the moves stream continues where it was');
    });
    it('answers a resend after the room left Redis and came back with the first offset', async () => {
      await cluster(1, 0);
      const url = eventsUrl(nodes[0]!, '?client=an-instance-of-the-app');
      const client = await clients.connect(url);
      await client.join('remembers');
      const frame = { type: 'chat.message', room: 'remembers', data: { text: 'with an id' }, id: 'k1' };
      client.send(frame);
      const first = await client.next((f) => f.id === 'k1', 'the ack');
      await client.request('room.leave', { data: { room: 'remembers' } });
      const backend = nodes[0]!.backend as RedisBackend;
      await waitFor(async () => {
        const copied = await backend.redis.get(`${backend.keys.prefix}:room:{remembers}:storage:copied`);
        const seq = await backend.redis.get(backend.keys.seq('remembers', 'events'));
        return copied?.startsWith(`${seq}|`);
      }, 'the room copied');
      await waitFor(
        async () => (await roomKeysOf('remembers')).length === 0,
        'the room out of Redis (evicted by the sweep, or here)',
        10_000,
      ).catch(async () => assert.equal(await backend.restore.evict('remembers'), true));
      const again = await clients.connect(url);
      await again.join('remembers');
      again.send(frame);
      const repeat = await again.next((f) => f.id === 'k1', 'the ack of the resend');
      assert.deepEqual([repeat.type, repeat.data], ['ack', first.data]);
    });
  });
