import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { DOCUMENT_STREAM } from '../../src/backend/document-store';
import { CloseCode } from '../../src/core/errors';
import { Y, type YDoc } from '../../src/modules/yjs/esm';
import { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
import { startNode, uniquePrefix } from '../helpers/nodes';
import { waitFor, within } from '../helpers/wait';
import { destroyAll, provider, RawYjsClient, synced } from './yjs-helpers';
import { syncUpdate } from './yjs-suite';

/** The update frames of `count` one-key transactions (`k<from>`, `k<from+1>`...) on `doc`, in order. */
function keyFrames(doc: YDoc, from: number, count: number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const listener = (update: Uint8Array) => frames.push(syncUpdate(update));
  doc.on('update', listener);
  const map = doc.getMap<number>('keys');
  for (let i = from; i < from + count; i++) map.set(`k${i}`, i);
  doc.off('update', listener);
  return frames;
}

/** The clock ranges `[first, last]` of `client`'s structs in each entry of the room's update log, by offset. */
async function clockRanges(node: SwarmNode, room: string, client: number): Promise<[number, number][]> {
  const read = await node.backend.history.read(room, DOCUMENT_STREAM, 0, undefined, 10_000);
  return read.events.map((event) => {
    const clocks = Y.decodeUpdate(event.data as Uint8Array)
      .structs.filter((s) => s.id.client === client)
      .flatMap((s) => [s.id.clock, s.id.clock + s.length - 1]);
    return [Math.min(...clocks), Math.max(...clocks)];
  });
}

describe('update frames that queue up on one /yjs connection', () => {
  let node: SwarmNode;
  let yjs: YjsExtension;
  before(async () => {
    yjs = new YjsExtension();
    node = await startNode({ extensions: [yjs] });
  });
  afterEach(() => destroyAll());
  after(() => node.close());

  it('are appended merged, as fewer stream entries, in the order they were sent, and every reader gets them all', async () => {
    const room = uniquePrefix('batch');
    const reader = await synced(provider(node, room));
    const writer = await RawYjsClient.connect(node, room);
    const doc = new Y.Doc();
    const frames = keyFrames(doc, 0, 200);
    // One synchronous loop: the frames reach the node in one read, so they queue up together.
    for (const frame of frames) writer.send(frame);
    await waitFor(() => reader.doc.getMap('keys').size === 200, 'the reader to hold all 200 keys');
    assert.deepEqual(reader.doc.getMap('keys').toJSON(), doc.getMap('keys').toJSON());
    const ranges = await clockRanges(node, room, doc.clientID);
    assert.ok(ranges.length < frames.length / 2, `${ranges.length} entries for ${frames.length} frames`);
    // In order: each entry starts where the one before it ended, from clock 0 to the last.
    let next = 0;
    for (const [first, last] of ranges) {
      assert.equal(first, next, `entries ${JSON.stringify(ranges)}`);
      next = last + 1;
    }
    assert.equal(next, 200);
    writer.socket.close();
    doc.destroy();
  });

  it('close the socket with 4400 at a bad frame in a run, keep the updates sent before it and append none after it', async () => {
    const room = uniquePrefix('bad-batch');
    const reader = await synced(provider(node, room));
    const writer = await RawYjsClient.connect(node, room);
    const doc = new Y.Doc();
    const before = keyFrames(doc, 0, 50);
    const behind = keyFrames(doc, 51, 50);
    // A sync update message whose payload is not a Yjs update.
    const bad = syncUpdate(new Uint8Array([7, 200, 13, 99, 1, 250, 3]));
    for (const frame of [...before, bad, ...behind]) writer.send(frame);
    const closed = await within(writer.closed, 'the writer closed');
    assert.deepEqual(closed, { code: CloseCode.BadYjsFrame, reason: 'not a Yjs update' });
    await waitFor(() => reader.doc.getMap('keys').size === 50, 'the reader to hold the 50 keys sent before');
    const stored = (await yjs.getDoc(room)).getMap<number>('keys');
    assert.deepEqual(
      [...stored.keys()].sort(),
      Array.from({ length: 50 }, (_, i) => `k${i}`).sort(),
      'the room holds exactly the keys sent before the bad frame',
    );
    doc.destroy();
  });
});
