import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { handlers } from '../../src/modules/handlers';
import { StorageExtension } from '../../src/modules/storage/storage-extension';
import type { SwarmNode } from '../../src/node';
import { type JsonClient, OpenClients } from '../helpers/client';
import { eventsUrl, startNode } from '../helpers/nodes';
import { StorageTestbed } from '../helpers/storage-nodes';
import { move } from '../helpers/test-events';
import { waitFor } from '../helpers/wait';

async function gauge(node: SwarmNode, name: string): Promise<number> {
  const metric = await node.metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.reduce((sum, v) => sum + v.value, 0) ?? Number.NaN;
}

function storeOf(extension: StorageExtension) {
  const store = extension.store;
  assert.ok(store, 'the storage extension opened a store');
  return store;
}

describe('write-behind to the file store (embedded node)', () => {
  const clients = new OpenClients();
  const dirs: string[] = [];
  let node: SwarmNode | undefined;
  afterEach(async () => {
    clients.terminateAll();
    await node?.close();
    node = undefined;
  });
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function start(env: Record<string, string>): Promise<StorageExtension> {
    const dir = mkdtempSync(path.join(tmpdir(), 'swarmcast-wb-'));
    dirs.push(dir);
    const storage = new StorageExtension();
    node = await startNode({
      env: { DATA_DIR: dir, ...env },
      extensions: [storage],
      handlers: [...handlers, move],
    });
    return storage;
  }

  it('copies events and room state to the file within the delay', async () => {
    const storage = await start({ PERSIST_DELAY_MS: '50' });
    const client = await clients.connect(eventsUrl(node!));
    await client.join('notes');
    for (let i = 1; i <= 5; i++)
      await client.request('chat.message', { room: 'notes', data: { text: `m${i}` } });
    await client.request('room.state.set', { room: 'notes', data: { key: 'title', value: 'Plan' } });
    const store = storeOf(storage);
    const room = await waitFor(async () => {
      const found = await store.load('notes', 100);
      return found && found.progress.streams.events?.offset >= 7 ? found : undefined;
    }, 'the room in the file');
    const texts = room.recent
      .events!.filter((e) => e.type === 'chat.message')
      .map((e) => (e.data as { text: string }).text);
    assert.deepEqual(texts, ['m1', 'm2', 'm3', 'm4', 'm5']);
    assert.deepEqual(room.state, { title: 'Plan' });
    assert.deepEqual(
      room.recent.events!.map((e) => e.offset),
      Array.from({ length: room.recent.events!.length }, (_, i) => i + 1),
    );
    await waitFor(
      async () => (await gauge(node!, 'swarmcast_storage_rooms_pending')) === 0,
      'nothing pending',
    );
    assert.equal(await gauge(node!, 'swarmcast_storage_lag_seconds'), 0);
  });

  it('acks a durable event only once it is in the file', async () => {
    // A delay far past the test: only the durable path can have copied it.
    const storage = await start({ PERSIST_DELAY_MS: '600000' });
    const client = await clients.connect(eventsUrl(node!));
    await client.join('safe');
    client.send({ type: 'chat.message', room: 'safe', data: { text: 'keep me' }, id: 'd1', durable: true });
    const ack = await client.next((f) => f.id === 'd1', 'the durable ack');
    assert.equal(ack.type, 'ack');
    const offset = (ack.data as { offset: number }).offset;
    const page = await storeOf(storage).history('safe', { limit: 10 });
    const stored = page.events.find((e) => e.offset === offset);
    assert.deepEqual(stored?.data && (stored.data as { text: string }).text, 'keep me');
  });

  it('acks a durable event on a stream of the app’s own only once it is in the file', async () => {
    const storage = await start({ PERSIST_DELAY_MS: '600000' });
    const client = await clients.connect(eventsUrl(node!));
    await client.join('game');
    client.send({ type: 'test.move', room: 'game', data: { to: 9 }, id: 'm1', durable: true });
    const ack = await client.next((f) => f.id === 'm1', 'the durable ack');
    assert.equal(ack.type, 'ack');
    const offset = (ack.data as { offset: number }).offset;
    assert.equal(offset, 1, 'the first entry of its own stream');
    const page = await storeOf(storage).history('game', { stream: 'moves', limit: 10 });
    assert.deepEqual(
      page.events.map((e) => [e.offset, e.type, e.data]),
      [[1, 'test.move', { to: 9 }]],
    );
  });

  it('acks a durable resend of an event already stored only once that first one is in the file', async () => {
    const storage = await start({ PERSIST_DELAY_MS: '600000' });
    const client = await clients.connect(eventsUrl(node!));
    await client.join('again');
    const frame = { type: 'chat.message', room: 'again', data: { text: 'sent twice' }, id: 'd2' };
    client.send(frame);
    const first = await client.next((f) => f.id === 'd2' && f.type === 'ack', 'the first ack');
    const offset = (first.data as { offset: number }).offset;
    assert.equal((await storeOf(storage).history('again', { limit: 10 })).events.length, 0, 'not copied yet');
    client.send({ ...frame, durable: true });
    await waitFor(() => client.frames.filter((f) => f.id === 'd2').length === 2, 'the answer to the resend');
    const repeat = client.frames.filter((f) => f.id === 'd2')[1]!;
    assert.deepEqual([repeat.type, repeat.data], ['ack', { offset }]);
    const page = await storeOf(storage).history('again', { limit: 10 });
    assert.deepEqual(
      page.events
        .filter((e) => e.type === 'chat.message')
        .map((e) => [e.offset, (e.data as { text: string }).text]),
      [[offset, 'sent twice']],
    );
  });

  it('refuses "durable" on an event that is not stored, and a "durable" that is not a boolean', async () => {
    await start({});
    const client = await clients.connect(eventsUrl(node!));
    await client.join('r');
    const local = await client.expectError({ type: 'node.info', data: {}, durable: true });
    assert.equal(local.code, 'bad_frame');
    const bad = await client.expectError({
      type: 'chat.message',
      room: 'r',
      data: { text: 'x' },
      durable: 'yes',
    });
    assert.equal(bad.code, 'bad_frame');
  });

  it('answers a durable event unavailable when the node has no storage', async () => {
    node = await startNode({ env: { STORAGE: 'none' }, extensions: [new StorageExtension()] });
    const client = await clients.connect(eventsUrl(node));
    await client.join('r');
    const answer = await client.expectError({
      type: 'chat.message',
      room: 'r',
      data: { text: 'x' },
      durable: true,
    });
    assert.equal(answer.code, 'unavailable');
  });
});

describe('write-behind to PostgreSQL from a cluster', () => {
  let testbed: StorageTestbed;
  const clients = new OpenClients();
  let nodes: SwarmNode[] = [];
  before(async () => {
    testbed = await StorageTestbed.start();
  });
  afterEach(async () => {
    clients.terminateAll();
    await testbed.stopNodes();
    if (testbed.postgres.private) await testbed.postgres.resume();
  });
  after(async () => {
    await testbed?.close();
  });

  async function cluster(count: number, env: Record<string, string>): Promise<StorageExtension[]> {
    const started = await testbed.nodes(count, { env, yjs: false });
    nodes = started.nodes;
    return started.storage;
  }

  it('copies what members on three nodes send, each event once and in order', async () => {
    const storage = await cluster(3, { PERSIST_DELAY_MS: '30' });
    const senders: JsonClient[] = [];
    for (const node of nodes) {
      const client = await clients.connect(eventsUrl(node));
      await client.join('chat');
      senders.push(client);
    }
    const sent = await Promise.all(
      senders.flatMap((client, n) =>
        Array.from({ length: 20 }, (_, i) =>
          client.request('chat.message', { room: 'chat', data: { text: `${n}-${i}` } }),
        ),
      ),
    );
    const last = Math.max(...sent.map((a) => (a as { offset: number }).offset));
    const store = storeOf(storage[0]!);
    await waitFor(
      async () => (await store.progress('chat')).streams.events?.offset >= last,
      'every event in PostgreSQL',
      10_000,
    );
    const page = await store.history('chat', { limit: 1000 });
    assert.deepEqual(
      page.events.map((e) => e.offset),
      Array.from({ length: last }, (_, i) => i + 1),
    );
    const texts = page.events
      .filter((e) => e.type === 'chat.message')
      .map((e) => (e.data as { text: string }).text);
    assert.equal(texts.length, 60);
    assert.equal(new Set(texts).size, 60);
  });

  it('keeps serving while the database is down, the lag rises, and everything arrives once it is back', async (t) => {
    if (!testbed.postgres.private)
      return t.skip('TEST_DATABASE_URL is a shared server that the test cannot stop');
    const storage = await cluster(2, { PERSIST_DELAY_MS: '30', DURABLE_TIMEOUT_MS: '800' });
    const client = await clients.connect(eventsUrl(nodes[0]!));
    await client.join('steady');
    await client.request('chat.message', { room: 'steady', data: { text: 'before' } });
    const store = storeOf(storage[1]!);
    await waitFor(
      async () => (await store.progress('steady')).streams.events?.offset >= 2,
      'the first event copied',
    );
    await testbed.postgres.stop();
    let last = 0;
    for (let i = 0; i < 30; i++) {
      const answer = (await client.request('chat.message', {
        room: 'steady',
        data: { text: `down ${i}` },
      })) as {
        offset: number;
      };
      last = answer.offset;
    }
    // A durable event cannot be confirmed: it is answered unavailable after the bounded wait, never acked.
    const started = Date.now();
    const refused = await client.expectError({
      type: 'chat.message',
      room: 'steady',
      data: { text: 'must not be acked' },
      durable: true,
    });
    assert.equal(refused.code, 'unavailable');
    const waited = Date.now() - started;
    assert.ok(waited >= 700 && waited < 4000, `answered after ${waited} ms`);
    await waitFor(
      async () => (await gauge(nodes[0]!, 'swarmcast_storage_lag_seconds')) >= 1,
      'the lag to rise',
      5000,
    );
    await testbed.postgres.resume();
    const lastWithDurable = last + 1;
    await waitFor(
      async () =>
        (await store.progress('steady').catch(() => undefined))?.streams.events?.offset === lastWithDurable,
      'everything in PostgreSQL',
      15_000,
    );
    const page = await store.history('steady', { limit: 1000 });
    assert.deepEqual(
      page.events.map((e) => e.offset),
      Array.from({ length: lastWithDurable }, (_, i) => i + 1),
    );
    await waitFor(
      async () => (await gauge(nodes[0]!, 'swarmcast_storage_lag_seconds')) === 0,
      'the lag back to 0',
      // The copy that clears the lag may wait out a retry backoff of up to 5 s (persister.ts).
      15_000,
    );
  });
});
