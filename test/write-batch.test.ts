import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { holdWritesForTick } from '../src/core/protocol/write-batch';
import { waitFor } from './helpers/wait';

/** A socket stand-in that records each system call it would make: one entry per write or writev. */
function recordingSocket(): { socket: Writable; calls: string[][] } {
  const calls: string[][] = [];
  const socket = new Writable({
    write(chunk: Buffer, _encoding, done) {
      calls.push([chunk.toString()]);
      done();
    },
    writev(chunks, done) {
      calls.push(chunks.map(({ chunk }) => (chunk as Buffer).toString()));
      done();
    },
  });
  return { socket, calls };
}

describe('write batching', () => {
  it('sends what was written to a socket in one tick as one writev, in order', async () => {
    const { socket, calls } = recordingSocket();
    for (const frame of ['a', 'b', 'c']) {
      holdWritesForTick(socket as never);
      socket.write(frame);
    }
    assert.deepEqual(calls, [], 'nothing leaves before the tick ends');
    await waitFor(() => calls.length > 0, 'the held writes to leave', 2000);
    assert.deepEqual(calls, [['a', 'b', 'c']]);
  });

  it('batches each socket on its own, and writes of promise jobs in the same tick with them', async () => {
    const one = recordingSocket();
    const two = recordingSocket();
    holdWritesForTick(one.socket as never);
    one.socket.write('1a');
    holdWritesForTick(two.socket as never);
    two.socket.write('2a');
    await Promise.resolve().then(() => {
      holdWritesForTick(one.socket as never);
      one.socket.write('1b');
    });
    await waitFor(() => one.calls.length > 0 && two.calls.length > 0, 'both sockets to write', 2000);
    assert.deepEqual(two.calls, [['2a']]);
    assert.deepEqual(one.calls.flat(), ['1a', '1b']);
  });

  it('does not hold a later tick back: every tick is released', async () => {
    const { socket, calls } = recordingSocket();
    for (let tick = 0; tick < 3; tick++) {
      holdWritesForTick(socket as never);
      socket.write(`t${tick}`);
      await waitFor(() => calls.length === tick + 1, `tick ${tick}'s write to leave`, 2000);
    }
    assert.deepEqual(calls, [['t0'], ['t1'], ['t2']]);
    assert.equal(socket.writableCorked, 0);
  });
});
