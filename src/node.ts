import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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
import { HttpRoutes, type NextHandler, type UpgradeHandler } from './http/routes';
import { Heartbeat } from './limits/heartbeat';
import { closeOnFlood, RateLimiter } from './limits/rate-limit';
import { SendBufferWatch } from './limits/send-buffer';
import { createLogger, type Logger } from './log';
import { NodeMetrics } from './metrics/node-metrics';
import { JsonConnection } from './protocol/json-connection';
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
  /**
   * An HTTP or HTTPS server the app owns. The node then serves the upgrades of its own
   * paths on it and leaves every other upgrade to the app's listeners; it never listens,
   * and never closes the server or its connections. Its HTTP routes are `handleRequest`,
   * which the app mounts. Without one, the node creates, listens on and closes its own.
   */
  readonly server?: Server;
  /**
   * Put before every route and WebSocket path (`/rt`: `/rt/events`, `/rt/yjs/<room>`,
   * `/rt/healthz`), so that they do not meet the app's own. Default: none.
   */
  readonly pathPrefix?: string;
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
  readonly services: NodeServices;
  /** This node's Prometheus figures; modules report through it (`metrics.yjs`, `metrics.backend`). */
  readonly metrics: NodeMetrics;
  authenticate: Authenticator = openAccess;

  private readonly server: Server;
  private readonly ownsServer: boolean;
  private readonly upgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    this.onUpgrade(req, socket, head);
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
    this.http = new HttpRoutes(this.log, options.pathPrefix);
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
      handleProtocols: selectProtocol,
    });
    this.pings = new Heartbeat(options.config.limits.pingIntervalMs);
    this.sendBuffers = new SendBufferWatch(options.config.limits.maxSendBufferBytes);
    this.ownsServer = options.server === undefined;
    this.server = options.server ?? createServer((req, res) => this.handleRequest(req, res));
    this.server.on('upgrade', this.upgradeListener);
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
          address: this.server.listening ? `${this.host}:${this.port}` : undefined,
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

  /**
   * Serves the node's HTTP routes (health, readiness, metrics, admin API, demo page).
   * Usable as Express or Connect middleware: a request no route matches goes to `next`,
   * or gets 404 without one.
   */
  handleRequest(req: IncomingMessage, res: ServerResponse, next?: NextHandler): void {
    void this.http.request(req, res, next);
  }

  /** Whether this node serves the upgrade `req` asks for (its path is one of the node's endpoints). */
  servesUpgrade(req: IncomingMessage): boolean {
    return (
      this.server.listeners('upgrade').includes(this.upgradeListener) &&
      this.http.upgradeFor(req) !== undefined
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

  /**
   * Starts the backend, the extensions and the HTTP server; resolves with the bound port.
   * On a server the app owns, it does not listen: it resolves with the server's port, or 0
   * while the app has not called `listen` yet.
   */
  async start(): Promise<number> {
    await this.backend.start();
    await this.liveness.start();
    for (const extension of this.extensions) await extension.install(this);
    if (!this.ownsServer) {
      this.log.info(
        { port: this.port, backend: this.backend.kind },
        `attached to the app's server; ${this.backend.kind === 'memory' ? 'embedded single-node backend' : 'cluster backend on Redis'}`,
      );
      return this.port;
    }
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

  /** The server's port; 0 while a server the app owns is not listening yet. */
  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  /** The address other nodes and operators see in the registry: the one listened on. */
  private get host(): string {
    return this.ownsServer
      ? this.config.host
      : ((this.server.address() as AddressInfo | null)?.address ?? '');
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
    if (!this.ownsServer && this.draining) {
      await this.draining;
      this.server.off('upgrade', this.upgradeListener);
      return;
    }
    for (const socket of this.jsonSockets.clients) socket.terminate();
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    this.pings.stop();
    this.sendBuffers.stop();
    for (const extension of [...this.extensions].reverse()) await extension.close?.();
    if (this.ownsServer) {
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
    } else if (!this.draining) {
      // After a drain the listener stays, so that upgrades of this node's paths keep
      // getting 503 on the app's server instead of hanging; `close` takes it away.
      this.server.off('upgrade', this.upgradeListener);
    }
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
    const endpoint = this.http.upgradeFor(req);
    if (!endpoint) {
      // Another path is the app's, when the app listens for upgrades too; with nobody
      // else to answer, the socket would hang, so it is refused as Node would close it.
      if (this.server.listenerCount('upgrade') === 1) {
        socket.on('error', () => socket.destroy());
        HttpRoutes.refuseUnknown(req, socket);
      }
      return;
    }
    socket.on('error', () => socket.destroy());
    if (this.draining) {
      refuseUpgrade(socket, 503, 'node draining');
      return;
    }
    if (this.connections.size + this.upgrading >= this.config.limits.maxConnections) {
      refuseUpgrade(socket, 503, 'node at its connection limit (MAX_CONNECTIONS)');
      return;
    }
    endpoint(socket, head);
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
   * `socket`, the node's limits apply to it (docs/security.md): pings (4408), the send
   * buffer (4508) and, for protocols that do not rate-limit their own frames, closing a
   * socket that keeps sending past its rate (4429).
   */
  register(conn: Connection, socket?: WebSocket): void {
    this.connections.add(conn);
    this.metrics.connectionOpened(conn.protocol);
    if (!socket) return;
    this.pings.watch(socket);
    this.sendBuffers.watch(socket);
    if (conn.protocol !== 'json') {
      closeOnFlood(socket, this.rateLimiter(), () =>
        conn.close(CloseCode.RateLimited, 'rate limit exceeded'),
      );
    }
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
