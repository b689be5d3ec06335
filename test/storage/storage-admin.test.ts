import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { adminExtension } from '../../src/modules/admin/admin-api';
import { StorageExtension } from '../../src/modules/storage/storage-extension';
import { Y } from '../../src/modules/yjs/esm';
import { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
import { OpenClients } from '../helpers/client';
import { eventsUrl } from '../helpers/nodes';
import { TestPostgres } from '../helpers/postgres';
import { TestRedis } from '../helpers/redis';
import { startRedisNodes } from '../helpers/redis-nodes';
import { waitFor } from '../helpers/wait';
import { destroyAll, provider, synced } from '../yjs/yjs-helpers';

const TOKEN = 'storage-admin-token-0123456789';

interface Listed {
  rooms: Array<{
    room: string;
    bytes: number;
    lastActivity: string;
    inRedis: boolean;
    copied: Record<string, { offset: number; epoch: string }>;
  }>;
  next: string | null;
}

describe('admin API: rooms in storage', () => {
  let redis: TestRedis;
  let postgres: TestPostgres;
  const clients = new OpenClients();
  let node: SwarmNode | undefined;
  let storage: StorageExtension;
  before(async () => {
    [redis, postgres] = await Promise.all([TestRedis.start(), TestPostgres.start()]);
  });
  afterEach(async () => {
    clients.terminateAll();
    destroyAll();
    await node?.close();
    node = undefined;
  });
  after(async () => {
    await redis?.close();
    await postgres?.close();
  });

  async function start(): Promise<SwarmNode> {
    storage = new StorageExtension();
    const env = { DATABASE_URL: await postgres.database(), PERSIST_DELAY_MS: '20', ROOM_IDLE_MS: '0' };
    [node] = await startRedisNodes(1, redis.url, {
      env,
      extensions: [
        storage,
        new YjsExtension(),
        adminExtension(TOKEN, { endpoints: () => storage.adminEndpoints() }),
      ],
    });
    return node!;
  }

  const api = (path: string, method = 'GET') =>
    fetch(`http://127.0.0.1:${node!.port}/api/${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}` },
    });

  async function flushRedis(): Promise<void> {
    const client = redis.client();
    await client.flushall();
    client.disconnect();
  }

  it('lists rooms with their size, last activity and whether Redis holds them', async () => {
    await start();
    const editor = await synced(provider(node!, 'doc'));
    editor.doc.getText('t').insert(0, 'x'.repeat(2000));
    const client = await clients.connect(eventsUrl(node!));
    await client.join('chat');
    await client.request('chat.message', { room: 'chat', data: { text: 'hi' } });
    await waitFor(async () => {
      const listed = (await (await api('rooms')).json()) as Listed;
      return listed.rooms.length === 2 && listed.rooms[1]!.bytes >= 2000;
    }, 'both rooms in PostgreSQL');
    const listed = (await (await api('rooms')).json()) as Listed;
    assert.deepEqual(
      listed.rooms.map((r) => [r.room, r.inRedis]),
      [
        ['chat', true],
        ['doc', true],
      ],
    );
    assert.ok(Date.parse(listed.rooms[0]!.lastActivity) > Date.now() - 60_000);
    assert.ok(listed.rooms[0]!.copied.events!.offset >= 1, 'how far the chat’s events are copied');
    assert.deepEqual(
      listed.rooms[1]!.copied.events,
      { offset: 0, epoch: '' },
      'the document room has no events',
    );
    assert.ok(listed.rooms[1]!.copied.yjs!.offset > 0, 'how far its document is copied');
    const page = (await (await api('rooms?limit=1')).json()) as Listed;
    assert.deepEqual([page.rooms.map((r) => r.room), page.next], [['chat'], 'chat']);
    const rest = (await (await api('rooms?after=chat')).json()) as Listed;
    assert.deepEqual(
      rest.rooms.map((r) => r.room),
      ['doc'],
    );
    clients.terminateAll();
    destroyAll();
    // The leave is appended to the room; only then is there nothing left to write.
    await waitFor(
      async () => (await node!.backend.history.head('chat', 'events')).offset === 3,
      'the leave appended (join, message, leave)',
    );
    await flushRedis();
    const cold = (await (await api('rooms')).json()) as Listed;
    assert.deepEqual(
      cold.rooms.map((r) => r.inRedis),
      [false, false],
    );
  });

  it('exports a document from Redis while it is warm and from the database once it is not', async () => {
    await start();
    const editor = await synced(provider(node!, 'paper'));
    editor.doc.getText('t').insert(0, 'exported text');
    const read = async () => {
      const res = await api('rooms/paper/document');
      if (res.status !== 200) return undefined;
      assert.equal(res.headers.get('content-type'), 'application/octet-stream');
      const doc = new Y.Doc();
      Y.applyUpdate(doc, new Uint8Array(await res.arrayBuffer()));
      return doc.getText('t').toString();
    };
    assert.equal(await waitFor(read, 'the export'), 'exported text');
    await waitFor(async () => (await storage.store!.progress('paper')).yjs.offset > 0, 'the document copied');
    destroyAll();
    await flushRedis();
    assert.equal(await read(), 'exported text');
    assert.equal((await api('rooms/nothing-here/document')).status, 404);
  });

  it('deletes a room everywhere once nobody is in it, and refuses while someone is', async () => {
    await start();
    const client = await clients.connect(eventsUrl(node!));
    await client.join('gone');
    await client.request('room.state.set', { room: 'gone', data: { key: 'k', value: 1 } });
    await waitFor(async () => (await storage.store!.load('gone', 10)) !== undefined, 'the room copied');
    const refused = await api('rooms/gone', 'DELETE');
    assert.equal(refused.status, 409);
    await client.request('room.leave', { data: { room: 'gone' } });
    await waitFor(async () => {
      const pending = await node!.metrics.registry.getSingleMetric('swarmcast_storage_rooms_pending')?.get();
      return pending?.values[0]?.value === 0;
    }, 'the leave copied');
    await waitFor(async () => (await api('rooms/gone', 'DELETE')).status === 200, 'the delete', 5000);
    assert.equal(await storage.store!.load('gone', 10), undefined);
    const keys = redis.client();
    const all = await keys.keys(`${node!.config.keyPrefix}:room:{gone}*`);
    // Remembered event ids expire by themselves (docs/redis.md, "Idempotent appends").
    const ids = all.filter((key) => key.includes(':events:id:'));
    for (const key of ids) assert.ok((await keys.pttl(key)) > 0, `${key} expires`);
    keys.disconnect();
    assert.deepEqual(
      all.filter((key) => !ids.includes(key)),
      [],
    );
    const fresh = await client.join('gone');
    assert.deepEqual([fresh.offset, fresh.state], [0, {}]);
  });
});
