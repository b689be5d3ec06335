import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { RedisBackend } from '../../src/backend/redis/redis-backend';
import { RedisRoomRestore } from '../../src/backend/redis/redis-room-restore';
import { handlers } from '../../src/modules/handlers';
import type { SwarmNode } from '../../src/node';
import { OpenClients } from '../helpers/client';
import { eventsUrl } from '../helpers/nodes';
import { TestRedisCluster } from '../helpers/redis-cluster';
import { StorageTestbed } from '../helpers/storage-nodes';
import { move } from '../helpers/test-events';
import { waitFor } from '../helpers/wait';
import { destroyAll, provider, synced } from '../yjs/yjs-helpers';

/** A room.history answer. */
interface Page {
  stream: string;
  epoch: string;
  events: Array<{ type: string; offset: number; data: { to: number } }>;
}

/** The event streams the nodes' events declare. */
const STREAMS = ['events', 'moves'];

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
    const base = `${prefix}:room:{${room}}:`;
    const ids = all.filter((key) => key.slice(base.length).split(':')[1] === 'id'); // <stream>:id:<key>
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
        const copied = await backend.redis.hget(
          `${backend.keys.prefix}:room:{late}:storage:positions`,
          'events',
        );
        const seq = await backend.redis.get(backend.keys.seq('late', 'events'));
        return copied?.startsWith(`${seq}|`);
      }, 'the room copied');
      // An append the copy has not seen yet (as a script on another node would make it).
      await backend.redis.incr(backend.keys.seq('late', 'events'));
      assert.equal(await restore.evict('late', STREAMS), false);
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
        const copied = await backend.redis.hget(
          `${backend.keys.prefix}:room:{watched}:storage:positions`,
          'events',
        );
        const seq = await backend.redis.get(backend.keys.seq('watched', 'events'));
        return copied?.startsWith(`${seq}|`);
      }, 'the room copied');
      // A node opening the room subscribes to its channel before it reads it (and before any
      // member is listed): on a cluster the channel is sharded, counted by SHARDNUMSUB.
      await backend.bus.subscribe('watched');
      assert.equal(await restore.evict('watched', STREAMS), false);
      assert.ok((await roomKeysOf('watched')).some((key) => key.endsWith(':events:seq')));
      await backend.bus.unsubscribe('watched');
      await waitFor(() => restore.evict('watched', STREAMS), 'the room removed once no node is subscribed');
      // The index entry is the evictor's to drop (restore.evict is only the Redis step).
      assert.deepEqual(await roomKeysOf('watched'), ['index entry of watched']);
    });

    it('removes a stream of the app’s own with the room, and loads it back with its offsets and epoch continuing', async () => {
      await cluster(1, 300);
      const client = await clients.connect(eventsUrl(nodes[0]!));
      await client.join('board');
      await client.request('chat.message', { room: 'board', data: { text: 'kept in PostgreSQL' } });
      let move = { offset: 0 };
      for (let to = 1; to <= 2; to++) {
        move = (await client.request('test.move', { room: 'board', data: { to } })) as typeof move;
      }
      assert.equal(move.offset, 2);
      const before = (await client.request('room.history', {
        data: { room: 'board', stream: 'moves' },
      })) as Page;
      clients.terminateAll();
      await waitFor(
        async () => (await roomKeysOf('board')).length === 0,
        'the room evicted, no key left',
        10_000,
      ).catch(async (err) => {
        throw new Error(`${err.message}: ${(await roomKeysOf('board')).join(', ')}`);
      });
      const again = await clients.connect(eventsUrl(nodes[0]!));
      const joined = await again.join('board');
      assert.ok(joined.offset >= 3, 'the events stream loaded back: its offsets continue');
      const page = (await again.request('room.history', {
        data: { room: 'board', stream: 'moves' },
      })) as Page;
      assert.equal(page.stream, 'moves');
      assert.equal(page.epoch, before.epoch);
      assert.deepEqual(page.events, before.events, 'the moves as they were before the eviction');
      assert.deepEqual(
        page.events.map((e) => [e.type, e.offset, e.data.to]),
        [
          ['test.move', 1, 1],
          ['test.move', 2, 2],
        ],
      );
      const next = (await again.request('test.move', { room: 'board', data: { to: 3 } })) as typeof move;
      assert.equal(next.offset, 3, 'the moves stream continues where it was');
      const after = (await again.request('room.history', {
        data: { room: 'board', stream: 'moves' },
      })) as Page;
      assert.equal(after.epoch, before.epoch, 'in the same epoch');
    });

    it('acks a durable event on a stream of the app’s own once it is in the database', async () => {
      // A delay far past the test: only the durable path can have copied it.
      const env = { PERSIST_DELAY_MS: '600000', PERSIST_MAX_WAIT_MS: '600000', ROOM_IDLE_MS: '0' };
      const started = await testbed.nodes(1, { env, node: { handlers: [...handlers, move] } });
      ({ nodes, prefix } = started);
      const client = await clients.connect(eventsUrl(nodes[0]!));
      await client.join('durable-moves');
      client.send({ type: 'test.move', room: 'durable-moves', data: { to: 7 }, id: 'd1', durable: true });
      const ack = await client.next((f) => f.id === 'd1', 'the durable ack');
      assert.equal(ack.type, 'ack');
      const { offset } = ack.data as { offset: number };
      const page = await started.storage[0]!.store!.history('durable-moves', { stream: 'moves', limit: 10 });
      assert.deepEqual(
        page.events.map((e) => [e.offset, e.data]),
        [[offset, { to: 7 }]],
      );
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
        const copied = await backend.redis.hget(
          `${backend.keys.prefix}:room:{remembers}:storage:positions`,
          'events',
        );
        const seq = await backend.redis.get(backend.keys.seq('remembers', 'events'));
        return copied?.startsWith(`${seq}|`);
      }, 'the room copied');
      await waitFor(
        async () => (await roomKeysOf('remembers')).length === 0,
        'the room out of Redis (evicted by the sweep, or here)',
        10_000,
      ).catch(async () => assert.equal(await backend.restore.evict('remembers', STREAMS), true));
      const again = await clients.connect(url);
      await again.join('remembers');
      again.send(frame);
      const repeat = await again.next((f) => f.id === 'k1', 'the ack of the resend');
      assert.deepEqual([repeat.type, repeat.data], ['ack', first.data]);
    });
  });
