import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { handlers } from '../../src/modules/handlers';
import { StorageExtension } from '../../src/modules/storage/storage-extension';
import { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
import { type JsonClient, OpenClients, RequestError } from '../helpers/client';
import { eventsUrl, startNode } from '../helpers/nodes';
import { StorageTestbed } from '../helpers/storage-nodes';
import { move } from '../helpers/test-events';
import { waitFor } from '../helpers/wait';
import { destroyAll, provider, synced } from '../yjs/yjs-helpers';

async function counter(nodes: SwarmNode[], name: string, labels: Record<string, string>): Promise<number> {
  let sum = 0;
  for (const node of nodes) {
    const metric = await node.metrics.registry.getSingleMetric(name)?.get();
    for (const value of metric?.values ?? []) {
      if (Object.entries(labels).every(([k, v]) => value.labels[k] === v)) sum += value.value;
    }
  }
  return sum;
}

type Chat = { text: string };

/** A room.history answer for the moves stream. */
interface MovesPage {
  stream: string;
  epoch: string;
  events: Array<{ type: string; offset: number; data: { to: number } }>;
}

function moves(client: JsonClient, room: string): Promise<MovesPage> {
  return client.request('room.history', { data: { room, stream: 'moves' } }) as Promise<MovesPage>;
}

describe('rooms loaded back from the file after the embedded node restarts', () => {
  const clients = new OpenClients();
  const dir = mkdtempSync(path.join(tmpdir(), 'swarmcast-reload-'));
  let node: SwarmNode | undefined;
  afterEach(async () => {
    clients.terminateAll();
    destroyAll();
    await node?.close();
    node = undefined;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const start = () =>
    startNode({
      env: { DATA_DIR: dir, PERSIST_DELAY_MS: '50' },
      extensions: [new StorageExtension(), new YjsExtension()],
      handlers: [...handlers, move],
    });

  it('keeps a stream of the app’s own across a stop and a start, its offsets and epoch continuing', async () => {
    node = await start();
    const client = await clients.connect(eventsUrl(node));
    await client.join('game');
    for (let to = 1; to <= 3; to++) await client.request('test.move', { room: 'game', data: { to } });
    const before = await moves(client, 'game');
    assert.equal(before.events.length, 3);
    clients.terminateAll();
    await node.close(); // a stop copies what is pending
    node = undefined;

    node = await start();
    const again = await clients.connect(eventsUrl(node));
    await again.join('game');
    const after = await moves(again, 'game');
    assert.deepEqual([after.epoch, after.events], [before.epoch, before.events]);
    const next = (await again.request('test.move', { room: 'game', data: { to: 4 } })) as { offset: number };
    assert.equal(next.offset, 4);
    assert.equal((await moves(again, 'game')).epoch, before.epoch);
  });

  it('keeps the document, the state and the history across a stop and a start, offsets continuing', async () => {
    node = await start();
    const editor = await synced(provider(node, 'plan'));
    editor.doc.getText('t').insert(0, 'hello from before the restart');
    const client = await clients.connect(eventsUrl(node));
    await client.join('plan');
    for (let i = 1; i <= 3; i++)
      await client.request('chat.message', { room: 'plan', data: { text: `m${i}` } });
    await client.request('room.state.set', { room: 'plan', data: { key: 'title', value: 'Plan' } });
    // The edit reached the server once another provider sees it.
    const check = await synced(provider(node, 'plan'));
    await waitFor(
      () => check.doc.getText('t').toString() === 'hello from before the restart',
      'the edit on the server',
    );
    const last = (await client.request('chat.message', { room: 'plan', data: { text: 'last' } })) as {
      offset: number;
    };
    const joined = await (await clients.connect(eventsUrl(node))).join('plan');
    clients.terminateAll();
    destroyAll();
    await node.close(); // a stop copies what is pending
    node = undefined;

    node = await start();
    const again = await clients.connect(eventsUrl(node));
    const rejoined = await again.join('plan', { since: last.offset - 2, epoch: joined.epoch });
    assert.equal(rejoined.epoch, joined.epoch);
    assert.deepEqual(rejoined.state, { title: 'Plan' });
    assert.equal(rejoined.recovered, true);
    assert.ok(rejoined.offset >= last.offset, `offset ${rejoined.offset} continues from ${last.offset}`);
    const replay = await waitFor(() => {
      const events = again.events('plan', 'chat.message');
      return events.length >= 1 ? events : undefined;
    }, 'the missed events');
    assert.equal((replay.at(-1)!.data as Chat).text, 'last');
    const next = (await again.request('chat.message', { room: 'plan', data: { text: 'after' } })) as {
      offset: number;
    };
    assert.equal(next.offset, rejoined.offset + 2, 'the join announcement, then the new message');
    const fresh = await synced(provider(node, 'plan'));
    assert.equal(fresh.doc.getText('t').toString(), 'hello from before the restart');
  });
});

describe('rooms loaded back into Redis from PostgreSQL', () => {
  let testbed: StorageTestbed;
  const clients = new OpenClients();
  let nodes: SwarmNode[] = [];
  before(async () => {
    testbed = await StorageTestbed.start();
  });
  afterEach(async () => {
    clients.terminateAll();
    destroyAll();
    await testbed.stopNodes();
    if (testbed.postgres.private) await testbed.postgres.resume();
  });
  after(async () => {
    await testbed?.close();
  });

  async function cluster(count: number): Promise<void> {
    ({ nodes } = await testbed.nodes(count, {
      env: { PERSIST_DELAY_MS: '50' },
      node: { handlers: [...handlers, move] },
    }));
  }

  function flushRedis(): Promise<void> {
    const flusher = new Redis(testbed.redisUrl);
    return flusher.flushall().then(() => flusher.disconnect());
  }

  async function copied(room: string, nodes: SwarmNode[]): Promise<void> {
    await waitFor(
      async () => (await counter(nodes, 'swarmcast_storage_rooms_pending', {})) === 0,
      `room ${room} copied`,
      10_000,
    );
  }

  it('brings back the document, state and history after Redis is flushed, offsets continuing', async () => {
    await cluster(3);
    const editors = await Promise.all(nodes.map((node) => synced(provider(node, 'doc'))));
    editors.forEach((editor, i) => {
      editor.doc.getMap('m').set(`editor${i}`, i);
    });
    await waitFor(
      () => editors.every((editor) => editor.doc.getMap('m').size === 3),
      'the editors to converge',
    );
    const chat = await clients.connect(eventsUrl(nodes[0]!));
    await chat.join('doc');
    await chat.request('room.state.set', { room: 'doc', data: { key: 'topic', value: 'flush' } });
    let last = 0;
    for (let i = 0; i < 5; i++) {
      last = (
        (await chat.request('chat.message', { room: 'doc', data: { text: `c${i}` } })) as { offset: number }
      ).offset;
    }
    const joined = await (await clients.connect(eventsUrl(nodes[1]!))).join('doc');
    await copied('doc', nodes);
    await flushRedis();

    const fresh = await synced(provider(nodes[2]!, 'doc'), 10_000);
    assert.deepEqual(fresh.doc.getMap('m').toJSON(), { editor0: 0, editor1: 1, editor2: 2 });
    const reader = await clients.connect(eventsUrl(nodes[1]!));
    const back = await reader.join('doc', { since: last - 3, epoch: joined.epoch });
    assert.equal(back.epoch, joined.epoch);
    assert.deepEqual(back.state, { topic: 'flush' });
    assert.equal(back.recovered, true);
    assert.equal(back.offset, joined.offset + 1, 'the last message, then the witness joining');
    await waitFor(() => reader.events('doc', 'chat.message').length === 3, 'the three missed messages');
    const next = (await reader.request('chat.message', { room: 'doc', data: { text: 'after' } })) as {
      offset: number;
    };
    assert.ok(next.offset > last, `offset ${next.offset} continues after ${last}`);
  });

  it('brings back a stream of the app’s own after Redis is flushed, offsets and epoch continuing', async () => {
    await cluster(2);
    const player = await clients.connect(eventsUrl(nodes[0]!));
    await player.join('match');
    const said = (await player.request('chat.message', { room: 'match', data: { text: 'go' } })) as {
      offset: number;
    };
    for (let to = 1; to <= 3; to++) await player.request('test.move', { room: 'match', data: { to } });
    // The last move is durable: acked once it is in PostgreSQL.
    player.send({ type: 'test.move', room: 'match', data: { to: 4 }, id: 'd4', durable: true });
    assert.equal((await player.next((f) => f.id === 'd4', 'the durable ack')).type, 'ack');
    const before = await moves(player, 'match');
    const joined = await (await clients.connect(eventsUrl(nodes[1]!))).join('match');
    await copied('match', nodes);
    await flushRedis();

    const reader = await clients.connect(eventsUrl(nodes[1]!));
    // The events stream came back: `since` recovers what came back, and not what is past it.
    const back = await reader.join('match', { since: said.offset - 1, epoch: joined.epoch });
    assert.equal(back.recovered, true);
    await waitFor(() => reader.events('match', 'chat.message').length === 1, 'the missed message');
    const late = await (await clients.connect(eventsUrl(nodes[0]!))).join('match', {
      since: back.offset + 5,
      epoch: joined.epoch,
    });
    assert.equal(late.recovered, false, 'an offset past what came back');
    const after = await moves(reader, 'match');
    assert.deepEqual([after.stream, after.epoch, after.events], ['moves', before.epoch, before.events]);
    assert.deepEqual(
      after.events.map((e) => e.data.to),
      [1, 2, 3, 4],
    );
    const next = (await reader.request('test.move', { room: 'match', data: { to: 5 } })) as {
      offset: number;
    };
    assert.equal(next.offset, 5, 'the moves continue from the database');
    assert.equal((await moves(reader, 'match')).epoch, before.epoch);
  });

  it('loads a cold room once when ten providers on three nodes open it at the same moment', async () => {
    await cluster(3);
    const writer = await synced(provider(nodes[0]!, 'cold'));
    writer.doc.getText('t').insert(0, 'cold document');
    const check = await synced(provider(nodes[1]!, 'cold'));
    await waitFor(() => check.doc.getText('t').toString() === 'cold document', 'the edit on the server');
    await copied('cold', nodes);
    destroyAll();
    await flushRedis();

    const before = await counter(nodes, 'swarmcast_storage_loads_total', { result: 'loaded' });
    const opened = Array.from({ length: 10 }, (_, i) => provider(nodes[i % 3]!, 'cold'));
    await Promise.all(opened.map((p) => synced(p, 10_000)));
    for (const p of opened) assert.equal(p.doc.getText('t').toString(), 'cold document');
    assert.equal((await counter(nodes, 'swarmcast_storage_loads_total', { result: 'loaded' })) - before, 1);
  });

  it('answers unavailable when a cold room must be loaded while the database is down', async (t) => {
    if (!testbed.postgres.private)
      return t.skip('TEST_DATABASE_URL is a shared server that the test cannot stop');
    await cluster(1);
    const client = await clients.connect(eventsUrl(nodes[0]!));
    await testbed.postgres.stop();
    await assert.rejects(
      client.join('never-loaded'),
      (err: unknown) => err instanceof RequestError && err.frame.code === 'unavailable',
    );
    // Once the database answers again, the same join loads the (empty) room.
    await testbed.postgres.resume();
    const joined = await client.join('never-loaded');
    assert.equal(joined.offset, 0);
  });
});
