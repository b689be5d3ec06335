import type { WebSocket } from 'ws';
import { CloseCode } from '../errors';

/**
 * Whether a socket's unsent bytes passed `limit`. A client that stops reading would
 * otherwise make the server hold every event for it in memory: past the limit it is
 * closed with 4508 (SlowConsumer) and can reconnect and resume with `since`.
 */
export function overSendBuffer(socket: WebSocket, limit: number): boolean {
  return socket.bufferedAmount > limit;
}

/**
 * How often registered sockets are checked. The JSON protocol checks after every send;
 * this sweep covers protocols that do not, so a socket can overshoot the limit by at
 * most what the node sends it in this time.
 */
export const SEND_BUFFER_SWEEP_MS = 100;

/** Closes registered sockets whose send buffer passed the limit, with 4508. One timer per node. */
export class SendBufferWatch {
  private readonly sockets = new Set<WebSocket>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly limit: number) {}

  watch(socket: WebSocket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), SEND_BUFFER_SWEEP_MS);
      this.timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.sockets.clear();
  }

  private sweep(): void {
    for (const socket of this.sockets) {
      if (socket.readyState !== socket.OPEN || !overSendBuffer(socket, this.limit)) continue;
      socket.close(CloseCode.SlowConsumer, 'send buffer full: read faster, then reconnect');
    }
  }
}
