import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { RedisBackend } from '../../src/backend/redis/redis-backend';
import { RedisRoomRestore } from '../../src/backend/redis/redis-room-restore';
import type { SwarmNode } from '../../src/node';
import { StorageExtension } from '../../src/storage/storage-extension';
import { YjsExtension } from '../../src/yjs/yjs-extension';
import { OpenClients } from '../helpers/client';
import { eventsUrl } from '../helpers/nodes';
import { TestPostgres } from '../helpers/postgres';
import { TestRedis } from '../helpers/redis';
import { startRedisNodes } from '../helpers/redis-nodes';
import { waitFor } from '../helpers/wait';
import { destroyAll, provider, synced } from '../yjs/yjs-helpers';

describe('cold rooms leave Redis', () => {
  let redis: TestRedis;
  let postgres: TestPostgres;
  const clients = new OpenClients();
  let nodes: SwarmNode[] = [];
  before(async () => {
    [redis, postgres] = await Promise.all([TestRedis.start(), TestPostgres.start()]);
  });
  afterEach(async () => {
    clients.terminateAll();
    destroyAll();
    for (const node of nodes) await node.close();
    nodes = [];
  });
  after(async () => {
    await redis?.close();
    await postgres?.close();
  });

  async function cluster(count: number, idleMs: number): Promise<void> {
    const env = {
      DATABASE_URL: await postgres.database(),
      PERSIST_DELAY_MS: '30',
      ROOM_IDLE_MS: String(idleMs),
      // The clients' ids are remembered this long, and a room leaves Redis only after.
      IDEMPOTENCY_WINDOW_MS: String(idleMs),
    };
    const extensions = () => [new StorageExtension(), new YjsExtension()];
    nodes = await startRedisNodes(1, redis.url, { env, extensions: extensions() });
    for (let i = 1; i < count; i++) {
      nodes.push(
        ...(await startRedisNodes(
          1,
          redis.url,
          { env, extensions: extensions() },
          nodes[0]!.config.keyPrefix,
        )),
      );
    }
  }

  async function roomKeys(room: string): Promise<string[]> {
    const client = redis.client();
    try {
      const prefix = nodes[0]!.config.keyPrefix;
      const keys = await client.keys(`${prefix}:room:{${room}}*`);
      const indexed = await client.zscore(`${prefix}:storage:rooms`, room);
      return indexed === null ? keys : [...keys, `index entry of ${room}`];
    } finally {
      client.disconnect();
    }
  }

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
    await waitFor(() => check.doc.getText('t').toString() === 'kept in PostgreSQL', 'the edit on the server');
    assert.ok((await roomKeys('cold')).length > 0);
    clients.terminateAll();
    destroyAll();

    await waitFor(
      async () => (await roomKeys('cold')).length === 0,
      'no key of the room left in Redis',
      10_000,
    );

    const fresh = await synced(provider(nodes[1]!, 'cold'), 10_000);
    assert.equal(fresh.doc.getText('t').toString(), 'kept in PostgreSQL');
    const back = await (await clients.connect(eventsUrl(nodes[0]!))).join('cold', { since: last.offset - 1 });
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
    assert.ok((await roomKeys('occupied')).some((key) => key.endsWith(':events:seq')));
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
    assert.ok((await roomKeys('late')).length > 0);
  });
});
