import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { z } from 'zod';
import { defineEvent } from '../src/core/events/event-definition';
import { handlers } from '../src/modules/handlers';
import type { SwarmNode } from '../src/node';
import { startAuthNodes, token, upgrade } from './auth/auth-helpers';
import { type Frame, type JsonClient, OpenClients } from './helpers/client';
import { eventsUrl, startNodes, uniquePrefix } from './helpers/nodes';
import { TestRedis } from './helpers/redis';
import { startRedisNodes } from './helpers/redis-nodes';
import { waitFor } from './helpers/wait';

let tickets = 0;
/** A room event whose handler answers with a number it has never given before. */
const ticket = defineEvent({
  type: 'test.ticket',
  scope: 'room',
  access: 'write',
  data: z.object({}),
  handle: (ctx) => ctx.reply({ ticket: ++tickets }),
});
const withTicket = [...handlers, ticket];

/** A client instance id as the client library draws one: 16 random bytes, base64url. */
function instance(): string {
  return randomBytes(16).toString('base64url');
}

/** The query that names a client instance on /events. */
function as(client: string): string {
  return `?client=${client}`;
}

/**
 * Sends `frame` with `id` (which may have been sent before, on this socket or another) and
 * resolves with this send's answer: the next `ack` or `error` with that id.
 */
async function sendWithId(client: JsonClient, frame: Record<string, unknown>, id: string): Promise<Frame> {
  const answered = (f: Frame) => (f.type === 'ack' || f.type === 'error') && f.id === id;
  const before = client.frames.filter(answered).length;
  client.send({ ...frame, id });
  await waitFor(() => client.frames.filter(answered).length > before, `the answer to ${id}`);
  return client.frames.filter(answered)[before]!;
}

async function chat(client: JsonClient, room: string, text: string, id: string): Promise<number> {
  const answer = await sendWithId(client, { type: 'chat.message', room, data: { text } }, id);
  assert.equal(answer.type, 'ack', `chat "${text}" answered ${JSON.stringify(answer)}`);
  return (answer.data as { offset: number }).offset;
}

/** The texts of the chat messages a reader received in `room`, once `last` has come. */
async function textsUntil(reader: JsonClient, room: string, last: string): Promise<string[]> {
  const texts = () => reader.events(room, 'chat.message').map((f) => (f.data as { text: string }).text);
  await waitFor(() => texts().includes(last), `"${last}" at the reader`);
  return texts();
}

/** What every backend keeps: the same tests on in-process nodes over memory and over one Redis. */
function publishingSuite(
  name: string,
  start: (count: number, env: Record<string, string>) => Promise<SwarmNode[]>,
) {
  describe(`idempotent publishing (${name})`, () => {
    const clients = new OpenClients();
    let nodes: SwarmNode[] = [];
    afterEach(async () => {
      clients.terminateAll();
      for (const node of nodes) await node.close();
      nodes = [];
    });

    it('stores a repeat within the window once, through the same node and another, and acks it with the first offset', async () => {
      nodes = await start(2, {});
      const [one, two] = nodes as [SwarmNode, SwarmNode];
      const room = uniquePrefix('once');
      const reader = await clients.connect(eventsUrl(two));
      await reader.join(room);
      const me = instance();
      const sender = await clients.connect(eventsUrl(one, as(me)));
      await sender.join(room);
      const first = await chat(sender, room, 'hello', 'c1');
      assert.equal(await chat(sender, room, 'hello', 'c1'), first, 'a resend on the same connection');
      sender.socket.terminate();
      // The same client instance, reconnected to the other node, resends what it never saw acked.
      const again = await clients.connect(eventsUrl(two, as(me)));
      await again.join(room);
      assert.equal(await chat(again, room, 'hello', 'c1'), first, 'a resend through another node');
      const next = await chat(again, room, 'next', 'c2');
      assert.ok(next > first, 'a new id is a new event');
      assert.deepEqual(await textsUntil(reader, room, 'next'), ['hello', 'next']);
      assert.deepEqual(
        reader.events(room, 'chat.message').map((f) => f.offset),
        [first, next],
      );
    });

    it('never merges two senders that use the same id', async () => {
      nodes = await start(1, {});
      const [node] = nodes as [SwarmNode];
      const room = uniquePrefix('apart');
      const reader = await clients.connect(eventsUrl(node));
      await reader.join(room);
      // Two plain connections (no client instance), and two instances: all send id "1".
      const senders = await Promise.all([
        clients.connect(eventsUrl(node)),
        clients.connect(eventsUrl(node)),
        clients.connect(eventsUrl(node, as(instance()))),
        clients.connect(eventsUrl(node, as(instance()))),
      ]);
      const offsets: number[] = [];
      for (const [i, sender] of senders.entries()) {
        await sender.join(room);
        offsets.push(await chat(sender, room, `from ${i}`, '1'));
      }
      assert.equal(new Set(offsets).size, 4, `four events: ${offsets}`);
      const texts = await textsUntil(reader, room, 'from 3');
      assert.deepEqual(texts, ['from 0', 'from 1', 'from 2', 'from 3']);
    });

    it('takes a resend on a new connection for a new event when the sender named no client instance', async () => {
      nodes = await start(1, {});
      const [node] = nodes as [SwarmNode];
      const room = uniquePrefix('plain');
      const first = await clients.connect(eventsUrl(node));
      await first.join(room);
      const offset = await chat(first, room, 'plain', 'p1');
      assert.equal(await chat(first, room, 'plain', 'p1'), offset, 'the same connection: the same event');
      const second = await clients.connect(eventsUrl(node));
      await second.join(room);
      assert.ok((await chat(second, room, 'plain', 'p1')) > offset);
    });

    it('answers a repeat with the answer the handler gave the first time', async () => {
      nodes = await start(2, {});
      const [one, two] = nodes as [SwarmNode, SwarmNode];
      const room = uniquePrefix('answer');
      const me = instance();
      const sender = await clients.connect(eventsUrl(one, as(me)));
      await sender.join(room);
      const first = await sendWithId(sender, { type: 'test.ticket', room, data: {} }, 't1');
      sender.socket.terminate();
      const again = await clients.connect(eventsUrl(two, as(me)));
      await again.join(room);
      const repeat = await sendWithId(again, { type: 'test.ticket', room, data: {} }, 't1');
      assert.equal(first.type, 'ack');
      // The handler ran again (and gave a new ticket), but the ack is the first one's.
      assert.deepEqual(repeat.data, first.data);
    });

    it('remembers nothing with IDEMPOTENCY_WINDOW_MS=0', async () => {
      nodes = await start(1, { IDEMPOTENCY_WINDOW_MS: '0' });
      const [node] = nodes as [SwarmNode];
      const room = uniquePrefix('off');
      const sender = await clients.connect(eventsUrl(node, as(instance())));
      await sender.join(room);
      const first = await chat(sender, room, 'again', 'o1');
      assert.ok((await chat(sender, room, 'again', 'o1')) > first);
    });

    it('takes a repeat after the window for a new event', async () => {
      const windowMs = 300;
      nodes = await start(1, { IDEMPOTENCY_WINDOW_MS: String(windowMs) });
      const [node] = nodes as [SwarmNode];
      const room = uniquePrefix('window');
      const reader = await clients.connect(eventsUrl(node));
      await reader.join(room);
      const sender = await clients.connect(eventsUrl(node, as(instance())));
      await sender.join(room);
      const sentAt = Date.now();
      const first = await chat(sender, room, 'twice', 'w1');
      await waitFor(() => Date.now() > sentAt + windowMs + 20, 'the window to pass');
      const later = await chat(sender, room, 'twice', 'w1');
      assert.ok(later > first);
      await waitFor(() => reader.events(room, 'chat.message').length === 2, 'the second copy at the reader');
      assert.deepEqual(
        reader.events(room, 'chat.message').map((f) => f.offset),
        [first, later],
      );
    });
  });
}

publishingSuite('memory', (count, env) => startNodes(count, { env, handlers: withTicket }));

describe('idempotent publishing (Redis)', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await TestRedis.start();
  });
  after(async () => {
    await redis?.close();
  });

  publishingSuite('one Redis', (count, env) =>
    startRedisNodes(count, redis.url, { env, handlers: withTicket }),
  );

  it('still stores a repeat once after Redis restarts (AOF)', async () => {
    const clients = new OpenClients();
    const nodes = await startRedisNodes(2, redis.url);
    try {
      const [one, two] = nodes as [SwarmNode, SwarmNode];
      const room = uniquePrefix('restart');
      const me = instance();
      const sender = await clients.connect(eventsUrl(one, as(me)));
      await sender.join(room);
      const first = await chat(sender, room, 'kept', 'r1');
      sender.socket.terminate();
      await redis.restart();
      await waitFor(() => nodes.every((node) => node.backend.status() === 'up'), 'the nodes back on Redis');
      const reader = await clients.connect(eventsUrl(one));
      await reader.join(room, { since: 0 });
      const again = await clients.connect(eventsUrl(two, as(me)));
      await again.join(room);
      assert.equal(await chat(again, room, 'kept', 'r1'), first);
      assert.ok((await chat(again, room, 'after', 'r2')) > first);
      assert.deepEqual(await textsUntil(reader, room, 'after'), ['kept', 'after']);
    } finally {
      clients.terminateAll();
      for (const node of nodes) await node.close();
    }
  });
});

describe('idempotent publishing with authenticated users', () => {
  const clients = new OpenClients();
  let nodes: SwarmNode[] = [];
  after(async () => {
    clients.terminateAll();
    for (const node of nodes) await node.close();
  });

  it('never merges two users, even with the same client instance and id', async () => {
    nodes = await startAuthNodes(1);
    const [node] = nodes as [SwarmNode];
    const room = uniquePrefix('users');
    const shared = instance();
    const rooms = { '*': 'write' } as const;
    const ann = await clients.connect(
      eventsUrl(node, `${as(shared)}&token=${await token({ sub: 'ann', rooms })}`),
    );
    const bob = await clients.connect(
      eventsUrl(node, `${as(shared)}&token=${await token({ sub: 'bob', rooms })}`),
    );
    await ann.join(room);
    await bob.join(room);
    const offsets = [await chat(ann, room, 'ann', '1'), await chat(bob, room, 'bob', '1')];
    assert.ok(offsets[1]! > offsets[0]!, `two events: ${offsets}`);
    // Ann again on a new connection: her own resend is recognised.
    const annAgain = await clients.connect(
      eventsUrl(node, `${as(shared)}&token=${await token({ sub: 'ann', rooms })}`),
    );
    await annAgain.join(room);
    assert.equal(await chat(annAgain, room, 'ann', '1'), offsets[0]);
  });

  it('refuses an upgrade whose client instance is not 16-64 of A-Z a-z 0-9 _ -', async () => {
    const [node] = nodes as [SwarmNode];
    const short = await upgrade(eventsUrl(node, `${as('short')}&token=${await token({ sub: 'ann' })}`));
    assert.equal(short.status, 400);
    const odd = await upgrade(
      eventsUrl(node, `${as('x'.repeat(15).concat('!'))}&token=${await token({ sub: 'ann' })}`),
    );
    assert.equal(odd.status, 400);
  });
});
