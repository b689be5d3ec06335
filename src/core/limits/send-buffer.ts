import type { WebSocket } from 'ws';
import { CloseCode } from '../errors';

/**
 * A client that stops reading would otherwise make the server hold every message for it
 * in memory. One message may be larger than the limit (a big Yjs sync step 2, a join
 * answer with a large room state) and is allowed to drain; a buffer that stays over the
 * limit without shrinking, or passes this many times the limit, is a slow consumer:
 * closed with 4508 (SlowConsumer), it can reconnect and resume with `since`.
 */
export const HARD_LIMIT_FACTOR = 2;

/** Whether the socket's unsent bytes passed the hard bound: checked after every send on /events. */
export function overHardLimit(socket: WebSocket, limit: number): boolean {
  return socket.bufferedAmount > HARD_LIMIT_FACTOR * limit;
}

/**
 * How often registered sockets are checked. Protocols that do not check after each send
 * (Yjs) can overshoot by what the node sends them in this time.
 */
export const SEND_BUFFER_SWEEP_MS = 100;

/**
 * Closes registered sockets with 4508 when their send buffer is over the limit at two
 * sweeps in a row without having shrunk in between, or over the hard bound. One timer per node.
 */
export class SendBufferWatch {
  /** Buffered bytes at the previous sweep, for sockets that were over the limit then. */
  private readonly over = new Map<WebSocket, number>();
  private readonly sockets = new Set<WebSocket>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly limit: number) {}

  /** Checks `socket` at every sweep; `forget` it once it has closed. */
  watch(socket: WebSocket): void {
    this.sockets.add(socket);
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), SEND_BUFFER_SWEEP_MS);
      this.timer.unref();
    }
  }

  forget(socket: WebSocket): void {
    this.sockets.delete(socket);
    this.over.delete(socket);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.sockets.clear();
    this.over.clear();
  }

  private sweep(): void {
    for (const socket of this.sockets) {
      if (socket.readyState !== socket.OPEN) continue;
      const buffered = socket.bufferedAmount;
      if (buffered <= this.limit) {
        this.over.delete(socket);
        continue;
      }
      const before = this.over.get(socket);
      if (overHardLimit(socket, this.limit) || (before !== undefined && buffered >= before)) {
        this.over.delete(socket);
        socket.close(CloseCode.SlowConsumer, 'send buffer full: read faster, then reconnect');
        continue;
      }
      this.over.set(socket, buffered);
    }
  }
}
