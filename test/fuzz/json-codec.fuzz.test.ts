import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { roomStateSet } from '../../src/core/events/builtin/room';
import { chatMessage } from '../../src/modules/handlers/chat-message';
import { decodeJsonFrame } from '../../src/modules/json/json-codec';
import type { SwarmNode } from '../../src/node';
import { JsonClient } from '../helpers/client';
import { eventsUrl, startNode } from '../helpers/nodes';
import { mutate, mutation } from './frames';

const ROOM = 'fuzz';

const validFrames = [
  { type: 'chat.message', room: ROOM, data: { text: 'hello' }, id: 'c1' },
  { type: 'room.state.set', room: ROOM, data: { key: 'k', value: { a: [1, 2] } }, id: 7 },
  { type: 'node.info', data: {} },
].map((frame) => new TextEncoder().encode(JSON.stringify(frame)));

/** Event-shaped JSON with every field drawn from valid and invalid values alike. */
const structured = fc
  .record(
    {
      type: fc.oneof(
        fc.constantFrom(
          'chat.message',
          'room.state.set',
          'node.info',
          'auth.refresh',
          'user.revoke',
          'ack',
          'welcome',
        ),
        fc.string({ maxLength: 20 }),
        fc.integer(),
      ),
      room: fc.oneof(fc.constant(ROOM), fc.string({ maxLength: 10 }), fc.integer(), fc.constant(null)),
      data: fc.oneof(
        fc.record({ text: fc.oneof(fc.string({ maxLength: 50 }), fc.jsonValue()) }),
        fc.record({ key: fc.string({ maxLength: 5 }), value: fc.jsonValue({ maxDepth: 3 }) }),
        fc.jsonValue({ maxDepth: 3 }),
      ),
      id: fc.oneof(fc.string({ maxLength: 200 }), fc.integer(), fc.double(), fc.jsonValue({ maxDepth: 1 })),
      from: fc.record({ user: fc.string(), node: fc.string() }),
    },
    { requiredKeys: [] },
  )
  .map((value) => JSON.stringify(value));

/** A fresh chat message, valid unless its text is only white space. */
const chat = fc
  .string({ maxLength: 60 })
  .map((text) =>
    new TextEncoder().encode(JSON.stringify({ type: 'chat.message', room: ROOM, data: { text } })),
  );

/** Text frames: random text, random JSON, event-shaped JSON, valid frames, and byte-mutated valid frames. */
const textFrame = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.json({ maxDepth: 4 }),
  structured,
  chat.map((bytes) => new TextDecoder().decode(bytes)),
  fc
    .tuple(
      fc.oneof(fc.constantFrom(...validFrames), chat),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
    )
    .map(([bytes, mutations]) => Buffer.from(mutate(bytes, mutations)).toString('utf8')),
);

/** Whether the node must append this frame to the room: the oracle the fuzzed node is held to. */
function appends(text: string): boolean {
  const decoded = decodeJsonFrame(text);
  if (!decoded.ok || decoded.frame.room !== ROOM) return false;
  // A Map, not an object literal: a frame of type "toString" must not find Object.prototype's.
  const definition = new Map<string, typeof chatMessage | typeof roomStateSet>([
    ['chat.message', chatMessage],
    ['room.state.set', roomStateSet],
  ]).get(decoded.frame.type);
  return definition?.data.safeParse(decoded.frame.data ?? {}).success ?? false;
}

describe('the JSON codec under random input', () => {
  it('never throws, and what it accepts is an event-shaped frame', () => {
    fc.assert(
      fc.property(textFrame, (text) => {
        const decoded = decodeJsonFrame(text);
        if (!decoded.ok) return typeof decoded.code === 'string';
        const { type, room, id } = decoded.frame;
        return (
          typeof type === 'string' &&
          type.length > 0 &&
          (room === undefined || typeof room === 'string') &&
          (id === undefined || typeof id === 'string' || Number.isFinite(id))
        );
      }),
      { numRuns: 5000 },
    );
  });
});

describe('a node fed random and mutated frames on /events', () => {
  let node: SwarmNode;
  const clients: JsonClient[] = [];
  const connect = async () => {
    const client = await JsonClient.connect(eventsUrl(node));
    clients.push(client);
    return client;
  };

  before(async () => {
    node = await startNode({ env: { RATE_LIMIT_PER_SEC: '0' } });
  });
  after(async () => {
    for (const client of clients) client.socket.terminate();
    await node.close();
  });

  it('appends exactly the valid frames, stays open, and keeps the room working', async () => {
    const fuzzer = await connect();
    const member = await connect();
    await fuzzer.join(ROOM);
    await member.join(ROOM);
    let batches = 0;
    let frames = 0;
    let appended = 0;
    await fc.assert(
      fc.asyncProperty(
        // At least 5 a batch: 60 runs fuzz 300 frames or more (fast-check favours short arrays).
        fc.array(fc.oneof(textFrame, fc.uint8Array({ maxLength: 64 })), { minLength: 5, maxLength: 25 }),
        async (batch) => {
          const before = (await node.backend.history.head(ROOM, 'events')).offset;
          let expected = 0;
          for (const frame of batch) {
            if (typeof frame === 'string' && appends(frame)) expected++;
            fuzzer.socket.send(frame);
          }
          // Frames of one connection are handled in order: once this is answered, all of them were.
          const marker = `marker-${++batches}`;
          fuzzer.send({ type: 'node.info', data: {}, id: marker });
          await fuzzer.next((f) => f.id === marker && f.type === 'ack', 'the marker ack');
          const after = (await node.backend.history.head(ROOM, 'events')).offset;
          frames += batch.length;
          appended += after - before;
          return after - before === expected && fuzzer.socket.readyState === fuzzer.socket.OPEN;
        },
      ),
      { numRuns: 60 },
    );
    assert.ok(appended > 0, `the valid frames among the ${frames} fuzzed were appended`);
    const history = await node.backend.history.read(ROOM, 'events', 0, undefined, 10_000);
    for (const event of history.events.filter((e) => e.from.conn === fuzzer.welcome.conn)) {
      if (event.type === 'chat.message')
        assert.ok(typeof (event.data as { text: unknown }).text === 'string');
      else if (event.type === 'room.state.changed')
        assert.ok(typeof (event.data as { key: unknown }).key === 'string');
      else assert.fail(`unexpected ${event.type} from the fuzzer`);
    }
    const late = await connect();
    await late.join(ROOM);
    await late.request('chat.message', { room: ROOM, data: { text: 'still working' } });
    await member.next(
      (f) => f.type === 'chat.message' && (f.data as { text: string }).text === 'still working',
      'a message after the fuzzing',
    );
  });
});
