import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { selectProtocol } from './auth/token-source';
import type { Backend } from './backend/backend';
import { MemoryBackend } from './backend/memory/memory-backend';
import { MemoryCluster } from './backend/memory/memory-cluster';
import { Liveness } from './cluster/liveness';
import type { Config } from './config';
import type { Connection, Identity } from './connection';
import { CloseCode } from './errors';
import { builtinEvents } from './events/builtin';
import { leaveRoom } from './events/builtin/room';
import type { AnyEventDefinition, EmitOptions, EmitResult } from './events/event';
import { EventRegistry } from './events/registry';
import { Router } from './events/router';
import { type HttpHandler, refuseUpgrade, sendJson } from './http/respond';
import { HttpRoutes, type UpgradeHandler } from './http/routes';
import { FlowControl } from './limits/flow-control';
import { Heartbeat } from './limits/heartbeat';
import { RateLimiter } from './limits/rate-limit';
import { SendBufferWatch } from './limits/send-buffer';
import { createLogger, type Logger } from './log';
import { NodeMetrics } from './metrics/node-metrics';
import { JsonConnection } from './protocol/json-connection';
import { reasonedSocket } from './protocol/reasoned-socket';
import { RoomHub } from './rooms/room-hub';
import { ConnectionTable, type NodeServices } from './services';

/** The outcome of checking an upgrade request: who it is, or the HTTP status that refuses it. */
export type UpgradeDecision =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly status: number; readonly message: string };

/** Decides who an upgrade request is. `room` is set for /yjs/<room>. */
export type Authenticator = (
  req: IncomingMessage,
  url: URL,
  room: string | undefined,
) => Promise<UpgradeDecision>;

export type { UpgradeHandler };

/** A module that plugs into a node: Yjs, auth, metrics, the admin API, the demo page. */
export interface Extension {
  readonly name: string;
  install(node: SwarmNode): void | Promise<void>;
  close?(): void | Promise<void>;
}

export interface SwarmNodeOptions {
  readonly config: Config;
  /** Defaults to the embedded memory backend (or Redis when the config has a URL and one is passed). */
  readonly backend?: Backend;
  readonly handlers?: readonly AnyEventDefinition[];
  readonly extensions?: readonly Extension[];
  readonly log?: Logger;
}

let anonymousCount = 0;

/** Anyone may connect when no authenticator is installed; each connection is its own anonymous user. */
const openAccess: Authenticator = async () => ({
  ok: true,
  identity: { user: `anon-${process.pid}-${++anonymousCount}` },
});

/**
 * One swarmcast node: an HTTP server with the WebSocket endpoints, the router, the
 * room hub and a backend. Start several (processes, or in one process over a shared
 * MemoryCluster) and they form a cluster through their backend.
 */
export class SwarmNode {
  readonly id: string;
  readonly config: Config;
  readonly log: Logger;
  readonly backend: Backend;
  readonly registry: EventRegistry;
  readonly router: Router;
  readonly hub: RoomHub;
  readonly connections = new ConnectionTable();
  /** Flow control of the paced (Yjs) sockets open now, for metrics. */
  private readonly flows = new Set<FlowControl>();
  readonly services: NodeServices;
  /** This node's Prometheus figures; modules report through it (`metrics.yjs`, `metrics.backend`). */
  readonly metrics: NodeMetrics;
  authenticate: Authenticator = openAccess;

  private readonly server: Server;
  private readonly jsonSockets: WebSocketServer;
  private readonly http: HttpRoutes;
  private readonly extensions: Extension[] = [];
  private readonly closing = new Set<Promise<void>>();
  private readonly readinessChecks: Array<() => string | undefined> = [];
  private draining: Promise<void> | undefined;
  private readonly peerDownHandlers: Array<(node: string) => Promise<void>> = [];
  private readonly pings: Heartbeat;
  private readonly sendBuffers: SendBufferWatch;
  /** Upgrades past the connection cap check that have not become connections yet. */
  private upgrading = 0;
  private readonly liveness: Liveness;
  private readonly startedAt = Date.now();

  constructor(options: SwarmNodeOptions) {
    this.config = options.config;
    this.id = options.config.nodeId;
    this.log = options.log ?? createLogger(options.config.logLevel, this.id);
    this.http = new HttpRoutes(this.log);
    this.backend =
      options.backend ?? new MemoryBackend(this.id, new MemoryCluster(options.config.historyLimit));
    this.registry = new EventRegistry([...builtinEvents, ...(options.handlers ?? [])]);
    this.metrics = new NodeMetrics({
      node: this.id,
      connections: () => this.connections.all(),
      rooms: () => this.hub.size,
      draining: () => this.isDraining,
      backendStatus: () => this.backend.status(),
      isDeclared: (type) => this.registry.get(type) !== undefined,
      flows: () => this.flows,
    });
    this.backend.useMetrics?.(this.metrics.backend);
    this.hub = new RoomHub(this.backend, this.log, this.metrics);
    const services: NodeServices = {
      id: this.id,
      backend: this.backend,
      hub: this.hub,
      connections: this.connections,
      can: (conn, access, room) => this.router.can(conn, access, room),
      emit: (type, opts) => this.emit(type, opts),
      membershipStale: () => this.liveness.membershipStale(),
    };
    this.services = services;
    this.router = new Router({
      node: this.id,
      registry: this.registry,
      backend: this.backend,
      hub: this.hub,
      services: () => services,
      log: this.log,
      observer: this.metrics,
    });
    this.backend.bus.listen({
      room: (event) => {
        this.metrics.fromBus(event.type, 'room');
        this.hub.receive(event);
      },
      cluster: (event) => {
        this.metrics.fromBus(event.type, 'cluster');
        void this.router.fromBus(event, event.from.node);
      },
      resync: () => this.hub.resync(),
    });
    this.jsonSockets = new WebSocketServer({
      noServer: true,
      maxPayload: options.config.maxFrameBytes,
      WebSocket: reasonedSocket({
        bytes: options.config.maxFrameBytes,
        variable: 'MAX_FRAME_BYTES',
        code: CloseCode.MessageTooBig,
      }),
      handleProtocols: selectProtocol,
    });
    this.pings = new Heartbeat(options.config.limits.pingIntervalMs);
    this.sendBuffers = new SendBufferWatch(options.config.limits.maxSendBufferBytes);
    this.server = createServer((req, res) => void this.http.request(req, res));
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.route('GET /healthz', (_req, res) => sendJson(res, 200, { status: 'ok', node: this.id }));
    this.route('GET /readyz', (_req, res) => {
      const reason = this.notReadyReason();
      sendJson(res, reason ? 503 : 200, { ready: !reason, node: this.id, reason });
    });
    this.addUpgrade('/events', (req, socket, head, url) => void this.upgradeJson(req, socket, head, url));
    this.extensions.push(...(options.extensions ?? []));
    this.liveness = new Liveness(
      {
        id: this.id,
        backend: this.backend,
        log: this.log,
        info: () => ({
          id: this.id,
          startedAt: this.startedAt,
          connections: this.connections.size,
          rooms: this.hub.size,
          address: this.server.listening ? `${this.config.host}:${this.port}` : undefined,
        }),
        announceLeft: async (room, member) => {
          await this.emit('room.member.left', { room, data: member });
        },
        peerDown: async (node) => {
          for (const handler of this.peerDownHandlers) {
            await handler(node).catch((err: unknown) =>
              this.log.warn({ err, node }, 'peer-down handler failed'),
            );
          }
        },
        localMembers: () =>
          this.hub.roomNames().flatMap((room) =>
            this.hub
              .localMembers(room)
              .filter((conn) => conn.protocol === 'json')
              .map((conn) => ({ room, member: { conn: conn.id, user: conn.identity.user, node: this.id } })),
          ),
      },
      { heartbeatMs: this.config.heartbeatMs, ttlMs: this.config.nodeTtlMs },
    );
  }

  /** Registers an HTTP route, `"GET /path"`; a path ending in `/*` matches the prefix. */
  route(key: string, handler: HttpHandler): void {
    this.http.route(key, handler);
  }

  /** Serves WebSocket upgrades whose path is `path` or starts with `path` when it ends in `/`. */
  addUpgrade(path: string, handler: UpgradeHandler): void {
    this.http.upgrade(path, handler);
  }

  /** Adds a check to /readyz: return a reason to be not ready, or undefined. */
  addReadinessCheck(check: () => string | undefined): void {
    this.readinessChecks.push(check);
  }

  /**
   * Runs `handler` when another node died without saying goodbye (its heartbeat expired).
   * It runs on exactly one survivor per dead node (the one holding the reaper lock),
   * after that node's room members were removed and announced. Modules with their own
   * per-node state (Yjs awareness) clean it up here.
   */
  onPeerDown(handler: (node: string) => Promise<void>): void {
    this.peerDownHandlers.push(handler);
  }

  get isDraining(): boolean {
    return this.draining !== undefined;
  }

  /** Starts the backend, the extensions and the HTTP server; resolves with the bound port. */
  async start(): Promise<number> {
    await this.backend.start();
    await this.liveness.start();
    for (const extension of this.extensions) await extension.install(this);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const { port } = this.server.address() as AddressInfo;
    this.log.info(
      {
        port,
        backend: this.backend.kind,
        redis: this.config.redisUrl ? redact(this.config.redisUrl) : undefined,
      },
      this.backend.kind === 'memory'
        ? `listening on port ${port}; embedded single-node backend (no REDIS_URL set)`
        : `listening on port ${port}; cluster backend on Redis`,
    );
    return port;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Dispatches an event from server-side code, through the same router as client events. */
  emit(type: string, options: EmitOptions): Promise<EmitResult> {
    return this.router.emit(type, options);
  }

  /**
   * Stops taking work and hands clients to other nodes: /readyz turns 503, new upgrades
   * get 503, every socket is closed with 1012 and leaves its rooms, then the backend
   * closes. Resolves when done or when `timeoutMs` has passed.
   */
  drain(timeoutMs = this.config.drainTimeoutMs): Promise<void> {
    this.draining ??= this.runDrain(timeoutMs);
    return this.draining;
  }

  private async runDrain(timeoutMs: number): Promise<void> {
    this.log.info({ connections: this.connections.size, timeoutMs }, 'draining');
    this.metrics.drainStarted();
    const started = performance.now();
    const deadline = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), timeoutMs).unref(),
    );
    const work = (async () => {
      for (const conn of [...this.connections.all()]) conn.close(CloseCode.ServiceRestart, 'node draining');
      // Sockets close when their clients answer the close frame; then their leave work runs.
      while (this.connections.size > 0 || this.closing.size > 0) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        await Promise.all(this.closing);
      }
    })();
    const timedOut = (await Promise.race([work, deadline])) === 'timeout';
    if (timedOut) {
      this.log.warn({ connections: this.connections.size }, 'drain timed out; closing what is left');
    }
    this.metrics.drainFinished((performance.now() - started) / 1000, timedOut);
    for (const socket of this.jsonSockets.clients) socket.terminate();
    await this.shutdown();
    this.log.info('drained');
  }

  /** Closes everything at once, without telling anyone (tests, and after a drain). */
  async close(): Promise<void> {
    for (const socket of this.jsonSockets.clients) socket.terminate();
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    this.pings.stop();
    this.sendBuffers.stop();
    for (const extension of [...this.extensions].reverse()) await extension.close?.();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.liveness.stop();
    await this.backend.nodes.remove(this.id).catch(() => {});
    await this.backend.close();
  }

  private notReadyReason(): string | undefined {
    if (this.draining) return 'draining';
    if (this.backend.status() !== 'up') return 'backend unavailable';
    for (const check of this.readinessChecks) {
      const reason = check();
      if (reason) return reason;
    }
    return undefined;
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (this.draining) {
      refuseUpgrade(socket, 503, 'node draining');
      return;
    }
    if (this.connections.size + this.upgrading >= this.config.limits.maxConnections) {
      refuseUpgrade(socket, 503, 'node at its connection limit (MAX_CONNECTIONS)');
      return;
    }
    this.http.dispatchUpgrade(req, socket, head, url);
  }

  private async upgradeJson(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<void> {
    this.upgrading++;
    let decision: UpgradeDecision;
    try {
      decision = await this.authenticate(req, url, undefined);
    } finally {
      this.upgrading--;
    }
    if (!decision.ok) return refuseUpgrade(socket, decision.status, decision.message);
    this.jsonSockets.handleUpgrade(req, socket, head, (ws) => {
      const conn = new JsonConnection(
        ws,
        decision.identity,
        this.router,
        this.log,
        {
          rate: this.rateLimiter(),
          maxSendBufferBytes: this.config.limits.maxSendBufferBytes,
        },
        socket,
      );
      this.register(conn, ws);
      ws.on('close', () => this.track(this.disconnect(conn, conn.settled())));
      ws.on('error', (err) => this.log.debug({ err, conn: conn.id }, 'socket error'));
      conn.open(this.id);
    });
  }

  /**
   * Registers a connection of any protocol (the Yjs extension uses it too). With its
   * `socket`, the node's limits apply to it (docs/security.md): pings (4504) and the send
   * buffer (4508). Protocols that cannot drop a frame (Yjs) get the returned flow control:
   * a socket past `YJS_RATE_LIMIT_PER_SEC` is read more slowly, and the connection reports
   * its backlog to it (`received` / `handled`). The JSON protocol drops frames over its
   * own rate limit instead, and gets none.
   */
  register(conn: Connection, socket: WebSocket): FlowControl | undefined;
  register(conn: Connection): undefined;
  register(conn: Connection, socket?: WebSocket): FlowControl | undefined {
    this.connections.add(conn);
    this.metrics.connectionOpened(conn.protocol);
    if (!socket) return undefined;
    this.pings.watch(socket);
    this.sendBuffers.watch(socket);
    if (conn.protocol === 'json') return undefined;
    const { limits } = this.config;
    const flow = new FlowControl(socket, { perSecond: limits.pacedPerSecond, burst: limits.pacedBurst }, () =>
      this.metrics.readsPaused(conn.protocol),
    );
    this.flows.add(flow);
    socket.once('close', () => this.flows.delete(flow));
    return flow;
  }

  private rateLimiter(): RateLimiter {
    const { limits } = this.config;
    return new RateLimiter({
      perSecond: limits.ratePerSecond,
      burst: limits.rateBurst,
      maxDrops: limits.rateMaxDrops,
    });
  }

  /** Forgets a closed connection and takes it out of its rooms everywhere. */
  async disconnect(conn: Connection, settled: Promise<void> = Promise.resolve()): Promise<void> {
    this.connections.delete(conn);
    await settled.catch(() => {});
    for (const room of [...conn.rooms]) {
      await leaveRoom(this.services, conn, room).catch((err: unknown) => {
        this.log.warn({ err, conn: conn.id, room }, 'leave on close failed');
      });
    }
  }

  /** Keeps a promise of close work so a drain can wait for it. */
  track(work: Promise<void>): void {
    this.closing.add(work);
    void work.finally(() => this.closing.delete(work));
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis://?';
  }
}
