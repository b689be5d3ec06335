import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { handlers } from '../../src/modules/handlers';
import { StorageExtension } from '../../src/modules/storage/storage-extension';
import type { SwarmNode } from '../../src/node';
import { OpenClients, RequestError } from '../helpers/client';
import { eventsUrl, startNode } from '../helpers/nodes';
import { move } from '../helpers/test-events';
import { waitFor } from '../helpers/wait';

interface Page {
  room: string;
  epoch: string;
  events: Array<{ type: string; offset: number; data: { text?: string } }>;
  more: boolean;
}

describe('room.history', () => {
  const clients = new OpenClients();
  const dir = mkdtempSync(path.join(tmpdir(), 'swarmcast-history-'));
  const nodes: SwarmNode[] = [];
  after(async () => {
    clients.terminateAll();
    for (const node of nodes) await node.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pages back beyond what Redis keeps, from the database', async () => {
    const storage = new StorageExtension();
    const node = await startNode({
      env: { DATA_DIR: dir, PERSIST_DELAY_MS: '20', HISTORY_LIMIT: '20', RATE_LIMIT_PER_SEC: '0' },
      extensions: [storage],
    });
    nodes.push(node);
    const client = await clients.connect(eventsUrl(node));
    await client.join('chat'); // offset 1: the join announcement
    let last = 0;
    for (let i = 1; i <= 60; i++) {
      last = (
        (await client.request('chat.message', { room: 'chat', data: { text: `m${i}` } })) as {
          offset: number;
        }
      ).offset;
    }
    assert.equal(last, 61);
    await waitFor(
      async () => (await storage.store!.progress('chat')).streams.events?.offset === last,
      'all copied',
    );

    const newest = (await client.request('room.history', { data: { room: 'chat', limit: 10 } })) as Page;
    assert.deepEqual(
      newest.events.map((e) => e.offset),
      Array.from({ length: 10 }, (_, i) => i + 52),
    );
    assert.equal(newest.events.at(-1)!.data.text, 'm60');
    assert.equal(newest.more, true);

    // Offsets 5..14 were trimmed from Redis (it keeps about 20): they come from the file.
    const older = (await client.request('room.history', {
      data: { room: 'chat', before: 15, limit: 10 },
    })) as Page;
    assert.deepEqual(
      older.events.map((e) => e.offset),
      Array.from({ length: 10 }, (_, i) => i + 5),
    );
    assert.equal(older.events[0]!.data.text, 'm4');
    assert.equal(older.epoch, newest.epoch);

    const first = (await client.request('room.history', {
      data: { room: 'chat', before: 3, limit: 10 },
    })) as Page;
    assert.deepEqual(
      first.events.map((e) => [e.offset, e.type]),
      [
        [1, 'room.member.joined'],
        [2, 'chat.message'],
      ],
    );
    assert.equal(first.more, false);
  });

  it('pages back through a stream of the app’s own named in `stream`, beyond Redis, from the database', async () => {
    const storage = new StorageExtension();
    const node = await startNode({
      env: {
        DATA_DIR: mkdtempSync(path.join(dir, 'moves-')),
        PERSIST_DELAY_MS: '20',
        HISTORY_LIMIT: '20',
        RATE_LIMIT_PER_SEC: '0',
      },
      extensions: [storage],
      handlers: [...handlers, move],
    });
    nodes.push(node);
    const client = await clients.connect(eventsUrl(node));
    await client.join('board');
    await client.request('chat.message', { room: 'board', data: { text: 'not a move' } });
    for (let to = 1; to <= 40; to++) await client.request('test.move', { room: 'board', data: { to } });
    await waitFor(
      async () => (await storage.store!.progress('board')).streams.moves?.offset === 40,
      'all copied',
    );
    const newest = (await client.request('room.history', {
      data: { room: 'board', stream: 'moves', limit: 5 },
    })) as Page & { stream: string };
    assert.equal(newest.stream, 'moves');
    assert.deepEqual(
      newest.events.map((e) => [e.type, e.offset]),
      [36, 37, 38, 39, 40].map((offset) => ['test.move', offset]),
    );
    // Offsets 1..5 were trimmed from Redis (it keeps about 20): they come from the file.
    const oldest = (await client.request('room.history', {
      data: { room: 'board', stream: 'moves', before: 6, limit: 10 },
    })) as Page;
    assert.deepEqual(
      oldest.events.map((e) => e.offset),
      [1, 2, 3, 4, 5],
    );
    assert.equal(oldest.epoch, newest.epoch);
    assert.equal(oldest.more, false);
    const events = (await client.request('room.history', { data: { room: 'board' } })) as Page & {
      stream: string;
    };
    assert.equal(events.stream, 'events', 'the events stream unless named');
    assert.deepEqual(
      events.events.map((e) => e.type),
      ['room.member.joined', 'chat.message'],
    );
    for (const stream of ['nowhere', 'yjs']) {
      await assert.rejects(
        client.request('room.history', { data: { room: 'board', stream } }),
        (err: unknown) =>
          err instanceof RequestError &&
          err.frame.code === 'invalid_data' &&
          String(err.frame.message).includes(`"${stream}"`),
        `an unknown stream "${stream}"`,
      );
    }
  });

  it('refuses a page larger than 500 events with invalid_data', async () => {
    const client = await clients.connect(eventsUrl(nodes[0]!));
    await assert.rejects(
      client.request('room.history', { data: { room: 'chat', limit: 501 } }),
      (err: unknown) => err instanceof RequestError && err.frame.code === 'invalid_data',
    );
  });

  it('is not declared on a node without storage', async () => {
    const node = await startNode({ env: { STORAGE: 'none' }, extensions: [new StorageExtension()] });
    nodes.push(node);
    const client = await clients.connect(eventsUrl(node));
    await assert.rejects(
      client.request('room.history', { data: { room: 'chat' } }),
      (err: unknown) => err instanceof RequestError && err.frame.code === 'unknown_type',
    );
  });
});
