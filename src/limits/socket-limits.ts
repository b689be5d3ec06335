import type { WebSocket } from 'ws';
import type { LimitsConfig } from '../config';
import type { Connection } from '../connection';
import { CloseCode } from '../errors';
import { Heartbeat } from './heartbeat';
import { closeOnFlood, connectionRateLimiter } from './rate-limit';
import { SendBufferWatch } from './send-buffer';

/**
 * The node's limits on every client socket, whatever its endpoint (docs/security.md):
 * pings (4408), the send buffer (4508) and, for connections that do not rate-limit their
 * own frames, closing a socket that keeps sending past its rate (4429).
 */
export class SocketLimits {
  private readonly pings: Heartbeat;
  private readonly sendBuffers: SendBufferWatch;

  constructor(private readonly limits: LimitsConfig) {
    this.pings = new Heartbeat(limits.pingIntervalMs);
    this.sendBuffers = new SendBufferWatch(limits.maxSendBufferBytes);
  }

  watch(conn: Connection, socket: WebSocket): void {
    this.pings.watch(socket);
    this.sendBuffers.watch(socket);
    if (!conn.limitsOwnRate) {
      closeOnFlood(socket, connectionRateLimiter(this.limits), () =>
        conn.close(CloseCode.RateLimited, 'rate limit exceeded'),
      );
    }
  }

  stop(): void {
    this.pings.stop();
    this.sendBuffers.stop();
  }
}
