import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { LimitsConfig } from '../../src/core/config';
import type { Connection } from '../../src/core/connection';
import {
  FlowControl,
  MAX_BACKLOG_BYTES,
  MAX_BACKLOG_FRAMES,
  type PausableSocket,
} from '../../src/core/limits/flow-control';
import { SocketLimits } from '../../src/core/limits/socket-limits';
import { FakeConnection } from '../helpers/fake-connection';
import { waitFor } from '../helpers/wait';

/** A socket that records whether it is being read. */
class FakeSocket implements PausableSocket {
  isPaused = false;
  pause(): void {
    this.isPaused = true;
  }
  resume(): void {
    this.isPaused = false;
  }
}

/** One frame read (it takes a rate token), handled at once. */
function frame(flow: FlowControl): void {
  flow.frameRead();
  flow.received(10);
  flow.handled(10);
}

describe('FlowControl', () => {
  it('stops reading once 256 frames wait to be handled, and reads again when half are', () => {
    const socket = new FakeSocket();
    const flow = new FlowControl(socket, { perSecond: 0, burst: 1 });
    for (let i = 0; i < MAX_BACKLOG_FRAMES - 1; i++) flow.received(10);
    assert.equal(socket.isPaused, false);
    flow.received(10);
    assert.equal(socket.isPaused, true);
    for (let i = 0; i < MAX_BACKLOG_FRAMES / 2 - 1; i++) flow.handled(10);
    assert.equal(socket.isPaused, true, 'still over half');
    flow.handled(10);
    assert.equal(socket.isPaused, false);
    assert.deepEqual(flow.backlog, { frames: MAX_BACKLOG_FRAMES / 2, bytes: (MAX_BACKLOG_FRAMES / 2) * 10 });
  });

  it('stops reading once 1 MiB waits, whatever the number of frames', () => {
    const socket = new FakeSocket();
    const flow = new FlowControl(socket, { perSecond: 0, burst: 1 });
    flow.received(MAX_BACKLOG_BYTES);
    assert.equal(socket.isPaused, true);
    flow.handled(MAX_BACKLOG_BYTES);
    assert.equal(socket.isPaused, false);
  });

  it('stops reading a socket past its rate and reads it again once its budget is back', async () => {
    const socket = new FakeSocket();
    let pauses = 0;
    // The budget's own clock, moved by the test: timers may fire early against the wall
    // clock on a loaded machine (libuv caches the loop time), this clock cannot.
    let clock = 0;
    let reads = 0;
    const now = () => {
      reads++;
      return clock;
    };
    const flow = new FlowControl(socket, { perSecond: 100, burst: 3 }, () => pauses++, now);
    frame(flow);
    frame(flow);
    assert.equal(socket.isPaused, false, 'within the burst');
    frame(flow);
    assert.equal(socket.isPaused, true, 'the burst is spent');
    // Its timer fires and looks at the budget again: with no time gone by, it stays paused.
    const readsAtPause = reads;
    await waitFor(() => reads > readsAtPause, 'the pause timer to check the budget again', 2000);
    assert.equal(socket.isPaused, true, 'not before the budget refilled');
    // The slice it waits for: 5 tokens at 100/s.
    clock += 50;
    await waitFor(() => !socket.isPaused, 'reading again', 2000);
    assert.equal(pauses, 1);
    flow.stop();
  });

  it('reads on when stopped, so that a closing socket hears its peer', () => {
    const socket = new FakeSocket();
    const flow = new FlowControl(socket, { perSecond: 0, burst: 1 });
    flow.received(MAX_BACKLOG_BYTES);
    assert.equal(socket.isPaused, true);
    flow.stop();
    assert.equal(socket.isPaused, false);
    flow.received(MAX_BACKLOG_BYTES);
    assert.equal(socket.isPaused, false, 'a stopped flow no longer pauses');
  });
});

describe('SocketLimits', () => {
  /** What the limits use of a ws socket: events, pausing, and what a sweep reads. */
  class Socket extends EventEmitter {
    isPaused = false;
    readonly OPEN = 1;
    readyState = 1;
    bufferedAmount = 0;
    pause(): void {
      this.isPaused = true;
    }
    resume(): void {
      this.isPaused = false;
    }
    ping(): void {}
    close(): void {}
    terminate(): void {}
  }

  it('takes a rate token for each frame a paced socket reads, and lets go of it when it closes', () => {
    const paused: string[] = [];
    const limits = new SocketLimits(
      {
        ratePerSecond: 0,
        rateBurst: 1,
        rateMaxDrops: 1,
        pacedPerSecond: 1,
        pacedBurst: 3,
        maxSendBufferBytes: 1024,
        maxConnections: 10,
        pingIntervalMs: 0,
      } as LimitsConfig,
      (endpoint) => paused.push(endpoint),
    );
    try {
      const socket = new Socket();
      // What the limits read of a connection: whether it limits its own rate, and its endpoint.
      const pacedConnection = { endpoint: 'yjs', limitsOwnRate: false } as unknown as Connection;
      const flow = limits.watch(pacedConnection, socket as never);
      assert.ok(flow, 'a connection that cannot drop frames is paced');
      assert.deepEqual([...limits.paced()], [flow]);
      socket.emit('message');
      socket.emit('message');
      assert.equal(socket.isPaused, false, 'within the burst');
      socket.emit('message');
      assert.equal(socket.isPaused, true, 'past the burst, reading stops');
      assert.deepEqual(paused, ['yjs']);
      socket.emit('close');
      assert.equal(socket.isPaused, false, 'a closing socket is read again, to hear its peer');
      assert.deepEqual([...limits.paced()], []);
      // A JSON connection limits its own rate: no flow control, nothing paced.
      const own = new Socket();
      assert.equal(limits.watch(new FakeConnection(), own as never), undefined);
      own.emit('message');
      own.emit('message');
      own.emit('message');
      assert.equal(own.isPaused, false);
    } finally {
      limits.stop();
    }
  });
});
