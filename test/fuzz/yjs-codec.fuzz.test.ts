import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Y } from '../../src/modules/yjs/esm';
import {
  decodeYjsFrame,
  encodeAwareness,
  encodeAwarenessUpdate,
  encodeQueryAwareness,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeUpdate,
  isEmptyUpdate,
  isValidUpdate,
} from '../../src/modules/yjs/yjs-codec';
import { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
import { startNode } from '../helpers/nodes';
import { waitFor, within } from '../helpers/wait';
import { destroyAll, type Provider, provider, RawYjsClient, synced } from '../yjs/yjs-helpers';
import { mutate, mutation } from './frames';

const ROOM = 'fuzz-yjs';

/** Valid frames of every message type, as a y-websocket client sends them. */
function validFrames(): Uint8Array[] {
  const doc = new Y.Doc();
  doc.getText('text').insert(0, 'seed text');
  doc.getMap('map').set('k', [1, 'two', { three: 3 }]);
  const update = Y.encodeStateAsUpdate(doc);
  const vector = Y.encodeStateVector(doc);
  const presence = encodeAwarenessUpdate([{ client: 7, clock: 1, state: '{"user":{"name":"fuzz"}}' }]);
  return [
    encodeUpdate(update),
    encodeSyncStep1(vector),
    encodeSyncStep2(update),
    encodeAwareness(presence),
    encodeQueryAwareness(),
  ];
}

/** A fresh, valid edit: what a y-websocket client sends when its user types. */
const edit = fc.string({ minLength: 1, maxLength: 40 }).map((text) => {
  const doc = new Y.Doc();
  doc.getText('text').insert(0, text);
  const frame = encodeUpdate(Y.encodeStateAsUpdate(doc));
  doc.destroy();
  return frame;
});

const binaryFrame = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  edit,
  fc
    .tuple(
      fc.oneof(fc.constantFrom(...validFrames()), edit),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
    )
    .map(([bytes, mutations]) => mutate(bytes, mutations)),
);

type Effect = { readonly kind: 'append'; readonly update: Uint8Array } | { readonly kind: 'none' | 'close' };

/** What the node must do with a frame: the oracle, from the codec's own validity checks. */
function effectOf(frame: Uint8Array): Effect {
  const decoded = decodeYjsFrame(frame);
  if (!decoded.ok) return { kind: 'close' };
  const { message } = decoded;
  if (message.kind !== 'update' && message.kind !== 'sync-step2') return { kind: 'none' };
  if (!isValidUpdate(message.update)) return { kind: 'close' };
  return isEmptyUpdate(message.update) ? { kind: 'none' } : { kind: 'append', update: message.update };
}

/** The updates of the room's log after `offset`. */
async function entriesAfter(node: SwarmNode, offset: number): Promise<Uint8Array[]> {
  const read = await node.backend.history.read(ROOM, 'yjs', offset);
  return read.events.map((event) => event.data as Uint8Array);
}

describe('the Yjs codec under random input', () => {
  it('never throws on random or mutated frames', () => {
    fc.assert(
      fc.property(binaryFrame, (frame) => {
        const decoded = decodeYjsFrame(frame);
        return decoded.ok || typeof decoded.reason === 'string';
      }),
      { numRuns: 5000 },
    );
  });
});

describe('a node fed random and mutated frames on /yjs/<room>', () => {
  let node: SwarmNode;
  before(async () => {
    node = await startNode({ extensions: [new YjsExtension()], env: { RATE_LIMIT_PER_SEC: '0' } });
  });
  afterEach(() => destroyAll());
  after(() => node.close());

  it('appends only valid updates, closes only the sender of a bad frame, and keeps the room in sync', async () => {
    const a: Provider = await synced(provider(node, ROOM));
    const b: Provider = await synced(provider(node, ROOM));
    let frames = 0;
    let closes = 0;
    let appended = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(binaryFrame, { minLength: 1, maxLength: 10 }), async (batch) => {
        const fuzzer = await RawYjsClient.connect(node, ROOM);
        const before = (await node.backend.history.head(ROOM, 'yjs')).offset;
        const expected: Uint8Array[] = [];
        let closesAt: number | undefined;
        for (const [i, frame] of batch.entries()) {
          const effect = effectOf(frame);
          if (effect.kind === 'close') {
            closesAt = i;
            break;
          }
          if (effect.kind === 'append') expected.push(effect.update);
        }
        for (const frame of batch) fuzzer.send(frame);
        if (closesAt !== undefined) {
          const { code } = await within(fuzzer.closed, 'the fuzzer closed');
          closes++;
          if (code !== 4400) return false;
        } else {
          // Sync step 1 is answered in order: once answered, every earlier frame was handled.
          fuzzer.send(new Uint8Array([0, 0, 1, 0]));
          await fuzzer.next((f) => f[0] === 0 && f[1] === 1, 'the marker step 2');
          fuzzer.socket.close();
        }
        frames += batch.length;
        // Updates that queued up together are appended as one merged entry: between one
        // entry and one per update, holding exactly the valid updates sent before any bad frame.
        const merged = (updates: Uint8Array[]) => Buffer.from(Y.mergeUpdates(updates));
        const entries =
          expected.length === 0
            ? await entriesAfter(node, before)
            : await waitFor(async () => {
                const found = await entriesAfter(node, before);
                return found.length > 0 && merged(found).equals(merged(expected)) ? found : undefined;
              }, 'the valid updates appended');
        appended += entries.length;
        return expected.length === 0 ? entries.length === 0 : entries.length <= expected.length;
      }),
      { numRuns: 60 },
    );
    assert.ok(frames > 100, `fuzzed ${frames} frames`);
    assert.ok(closes > 0, 'bad frames closed their socket');
    assert.ok(appended > 0, 'some mutated updates were still valid and appended');
    a.doc.getText('probe').insert(0, 'after the fuzz');
    await waitFor(() => b.doc.getText('probe').toString() === 'after the fuzz', 'the room still syncs');
    assert.equal(a.wsconnected && b.wsconnected, true, 'the other clients stayed connected');
  });
});
