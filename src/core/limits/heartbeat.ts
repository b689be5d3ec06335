import type { WebSocket } from 'ws';
import { CloseCode } from '../errors';

/**
 * Pings every socket each `intervalMs`; a socket that has not answered the previous
 * ping by the next round is dead (a peer gone without a FIN: a laptop lid, a NAT that
 * forgot the flow) and is closed with 4504 (a 5xx code: y-websocket 3.x reconnects), then dropped at once, since a dead peer
 * never answers the close. A client that does not read its socket cannot answer either:
 * with a full send buffer it is closed as a slow consumer (4508) or as dead, whichever
 * comes first. One timer per node, not per socket.
 */
export class Heartbeat {
  private readonly alive = new Map<WebSocket, boolean>();
  private readonly timer: NodeJS.Timeout | undefined;
  /** One listener for every socket's pongs (ws calls it with the socket as `this`), not a closure each. */
  private readonly answered: (this: WebSocket) => void;

  constructor(readonly intervalMs: number) {
    const alive = this.alive;
    this.answered = function answered(this: WebSocket) {
      if (alive.has(this)) alive.set(this, true);
    };
    if (intervalMs > 0) {
      this.timer = setInterval(() => this.round(), intervalMs);
      this.timer.unref();
    }
  }

  /** Pings `socket` from the next round on; `forget` it once it has closed. */
  watch(socket: WebSocket): void {
    if (!this.timer) return;
    this.alive.set(socket, true);
    socket.on('pong', this.answered);
  }

  forget(socket: WebSocket): void {
    this.alive.delete(socket);
  }

  stop(): void {
    clearInterval(this.timer);
    this.alive.clear();
  }

  get size(): number {
    return this.alive.size;
  }

  private round(): void {
    for (const [socket, alive] of this.alive) {
      // Already closing (a slow consumer, a revoke): ws drops it if the close is not answered,
      // and terminating here would throw away the close frame that says why.
      if (socket.readyState !== socket.OPEN) continue;
      // Paused by flow control: its pong waits unread behind its frames. Silence the node
      // itself caused is not a dead peer; the next round after it reads on decides.
      if (socket.isPaused) continue;
      if (!alive) {
        this.alive.delete(socket);
        socket.close(CloseCode.HeartbeatTimeout, 'no pong');
        socket.terminate();
        continue;
      }
      this.alive.set(socket, false);
      socket.ping();
    }
  }
}
