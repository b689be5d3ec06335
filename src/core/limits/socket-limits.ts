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
  /** Every watched socket, with its flow control when it has one. */
  private readonly sockets = new Map<WebSocket, FlowControl | undefined>();
  /** Per endpoint, what a flow calls when it pauses: one function each, not one per socket. */
  private readonly pauseCounters = new Map<string, () => void>();
  /** The close and message listeners of every watched socket (`this` is the socket). */
  private readonly closed: (this: WebSocket) => void;
  private readonly read: (this: WebSocket) => void;

  constructor(
    private readonly limits: LimitsConfig,
    /** Called each time a paced socket stops being read (for metrics). */
    private readonly onPause: (endpoint: string) => void = () => {},
  ) {
    this.pings = new Heartbeat(limits.pingIntervalMs);
    this.sendBuffers = new SendBufferWatch(limits.maxSendBufferBytes);
    const limitsOfNode = this;
    this.closed = function closed(this: WebSocket) {
      limitsOfNode.forget(this);
    };
    this.read = function read(this: WebSocket) {
      limitsOfNode.sockets.get(this)?.frameRead();
    };
  }

  /**
   * Applies the limits to one socket. A connection that limits its own rate (the JSON
   * protocol drops frames past it) gets no flow control; any other gets the returned one,
   * and reports its backlog to it (`received` / `handled`).
   */
  watch(conn: Connection, socket: WebSocket): FlowControl | undefined {
    this.pings.watch(socket);
    this.sendBuffers.watch(socket);
    const flow = conn.limitsOwnRate
      ? undefined
      : new FlowControl(
          socket,
          { perSecond: this.limits.pacedPerSecond, burst: this.limits.pacedBurst },
          this.pauseCounter(conn.endpoint),
        );
    this.sockets.set(socket, flow);
    // Shared listeners, no closure per socket: an idle socket's bookkeeping is most of what it costs (bench S4).
    if (flow) socket.on('message', this.read);
    socket.on('close', this.closed);
    return flow;
  }

  /** The flow controls of this node's open paced sockets (read by the metrics at scrape). */
  *paced(): Iterable<FlowControl> {
    for (const flow of this.sockets.values()) if (flow) yield flow;
  }

  private forget(socket: WebSocket): void {
    this.pings.forget(socket);
    this.sendBuffers.forget(socket);
    this.sockets.get(socket)?.stop();
    this.sockets.delete(socket);
  }

  private pauseCounter(endpoint: string): () => void {
    let counter = this.pauseCounters.get(endpoint);
    if (!counter) {
      counter = () => this.onPause(endpoint);
      this.pauseCounters.set(endpoint, counter);
    }
    return counter;
  }

  stop(): void {
    this.pings.stop();
    this.sendBuffers.stop();
  }
}
