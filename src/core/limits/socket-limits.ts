import type { WebSocket } from 'ws';
import type { LimitsConfig } from '../config';
import type { Connection } from '../connection';
import { FlowControl } from './flow-control';
import { Heartbeat } from './heartbeat';
import { SendBufferWatch } from './send-buffer';

/**
 * The node's limits on every client socket, whatever its endpoint (docs/security.md):
 * pings (4504), the send buffer (4508) and, for connections that cannot drop a frame
 * and so do not rate-limit their own (Yjs), flow control: such a socket past its rate
 * is read more slowly instead of being closed.
 */
export class SocketLimits {
  private readonly pings: Heartbeat;
  private readonly sendBuffers: SendBufferWatch;
  private readonly flows = new Set<FlowControl>();

  constructor(
    private readonly limits: LimitsConfig,
    /** Called each time a paced socket stops being read (for metrics). */
    private readonly onPause: (endpoint: string) => void = () => {},
  ) {
    this.pings = new Heartbeat(limits.pingIntervalMs);
    this.sendBuffers = new SendBufferWatch(limits.maxSendBufferBytes);
  }

  /**
   * Applies the limits to one socket. A connection that limits its own rate (the JSON
   * protocol drops frames past it) gets no flow control; any other gets the returned one,
   * and reports its backlog to it (`received` / `handled`).
   */
  watch(conn: Connection, socket: WebSocket): FlowControl | undefined {
    this.pings.watch(socket);
    this.sendBuffers.watch(socket);
    if (conn.limitsOwnRate) return undefined;
    const flow = new FlowControl(
      socket,
      { perSecond: this.limits.pacedPerSecond, burst: this.limits.pacedBurst },
      () => this.onPause(conn.endpoint),
    );
    this.flows.add(flow);
    socket.once('close', () => this.flows.delete(flow));
    return flow;
  }

  /** The flow controls of this node's open paced sockets (read by the metrics at scrape). */
  paced(): ReadonlySet<FlowControl> {
    return this.flows;
  }

  stop(): void {
    this.pings.stop();
    this.sendBuffers.stop();
  }
}
