import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { AccessHooks, type Authenticator, type Authorizer, type UpgradeDecision } from './access-hooks';
import { embeddedBackend } from './backend';
import type { Backend } from './backend/backend';
import type { Config } from './config';
import type { Connection } from './connection';
import { ConnectionTable } from './connection-table';
import { CloseCode, ConfigError } from './errors';
import { builtinEvents } from './events/builtin';
import { leaveRoom } from './events/builtin/room';
import type { RoomEvent } from './events/event';
import type { AnyEventDefinition, EmitOptions, EmitResult, NodeServices } from './events/event-definition';
import { EventRegistry } from './events/registry';
import { type DurableWait, type IncomingFrame, Router } from './events/router';
import type { Extension, Host } from './host';
import { type HttpHandler, refuseUpgrade, sendJson } from './http/respond';
import { HttpRoutes, type NextHandler, type UpgradeHandler } from './http/routes';
import type { FlowControl } from './limits/flow-control';
import { SocketLimits } from './limits/socket-limits';
import { createLogger, type Logger } from './log';
import { NodeMetrics } from './metrics/node-metrics';
import { Liveness } from './nodes/liveness';
import { JsonEndpoint } from './protocol/json-endpoint';
import { RoomHub } from './rooms/room-hub';

export type { Authenticator, Authorizer, Extension, Host, UpgradeDecision, UpgradeHandler };

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

/**
 * One swarmcast node: an HTTP server with the WebSocket endpoints, the router, the
 * room hub and a backend. Start several (processes, or in one process over a shared
 * SharedMemory) and they form a cluster through their backend.
 */
export class SwarmNode implements Host {
  readonly id: string;
  readonly config: Config;
  readonly log: Logger;
  readonly backend: Backend;
  readonly registry: EventRegistry;
  readonly router: Router;
  readonly hub: RoomHub;
  readonly connections = new ConnectionTable();
  /** Flow control of the paced (Yjs) sockets open now, for metrics. */
  readonly services: NodeServices;
  /** This node's Prometheus figures; modules report through it (`metrics.yjs`, `metrics.backend`). */
  readonly metrics: NodeMetrics;
  private readonly access = new AccessHooks();

  private readonly server: Server;
  private readonly ownsServer: boolean;
  private readonly upgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    this.onUpgrade(req, socket, head);
  private readonly http: HttpRoutes;
  private readonly extensions: Extension[] = [];
  private readonly readinessChecks: Array<() => string | undefined> = [];
  private draining: Promise<void> | undefined;
  /** Set once the backend is up and the node registered; until then upgrades get 503. */
  private started = false;
  private readonly peerDownHandlers: Array<(node: string) => Promise<void>> = [];
  private readonly socketLimits: SocketLimits;
  /** Upgrades past the connection cap check that have not become connections yet. */
  private upgrading = 0;
  private readonly liveness: Liveness;
  private readonly startedAt = Date.now();

  constructor(options: SwarmNodeOptions) {
    this.config = options.config;
    this.id = options.config.nodeId;
    this.log = options.log ?? createLogger(options.config.logLevel, this.id);
    this.http = new HttpRoutes(this.log, options.pathPrefix);
    this.backend = options.backend ?? embeddedBackend(this.id, options.config.historyLimit);
    this.registry = new EventRegistry([...builtinEvents, ...(options.handlers ?? [])]);
    this.metrics = new NodeMetrics({
      node: this.id,
      connections: () => this.connections.all(),
      rooms: () => this.hub.size,
      draining: () => this.isDraining,
      backendStatus: () => this.backend.status(),
      isDeclared: (type) => this.registry.get(type) !== undefined,
      flows: () => this.socketLimits.paced(),
    });
    this.backend.useMetrics?.(this.metrics.backend);
    this.hub = new RoomHub(this.backend, this.log, this.metrics, () => this.registry.streams());
    const services: NodeServices = {
      id: this.id,
      backend: this.backend,
      hub: this.hub,
      connections: this.connections,
      can: (conn, access, room) => this.access.authorize(conn, access, room),
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
      authorize: (conn, access, room) => this.access.authorize(conn, access, room),
      observer: this.metrics,
      idempotencyWindowMs: options.config.idempotencyWindowMs,
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
    this.socketLimits = new SocketLimits(options.config.limits, (endpoint) =>
      this.metrics.readsPaused(endpoint),
    );
    this.ownsServer = options.server === undefined;
    this.server = options.server ?? createServer((req, res) => this.handleRequest(req, res));
    this.server.on('upgrade', this.upgradeListener);
    this.route('GET /healthz', (_req, res) => sendJson(res, 200, { status: 'ok', node: this.id }));
    this.route('GET /readyz', (_req, res) => {
      const reason = this.notReadyReason();
      sendJson(res, reason ? 503 : 200, { ready: !reason, node: this.id, reason });
    });
    // The JSON endpoint is a module like the others, installed first.
    this.extensions.push(new JsonEndpoint(), ...(options.extensions ?? []));
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
              .filter((conn) => conn.joinsRooms)
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

  addAuthenticator(authenticator: Authenticator): void {
    this.access.addAuthenticator(authenticator);
  }

  addAuthorizer(authorizer: Authorizer): void {
    this.access.addAuthorizer(authorizer);
  }

  /** Runs the authenticators; an upgrade being authenticated counts against MAX_CONNECTIONS. */
  async authenticate(req: IncomingMessage, url: URL, room: string | undefined): Promise<UpgradeDecision> {
    this.upgrading++;
    try {
      return await this.access.authenticate(req, url, room);
    } finally {
      this.upgrading--;
    }
  }

  fromSocket(conn: Connection, frame: IncomingFrame): Promise<void> {
    return this.router.fromSocket(conn, frame);
  }

  get isDraining(): boolean {
    return this.draining !== undefined;
  }

  /**
   * Binds the HTTP port, then starts the backend, registers in the cluster and installs
   * the extensions; resolves with the bound port. Until it resolves, upgrades get 503 and
   * /readyz says `starting`. On a server the app owns, it does not listen: it resolves
   * with the server's port, or 0 while the app has not called `listen` yet.
   */
  async start(): Promise<number> {
    // The port first: a node that cannot listen must fail before it touches Redis or
    // registers, or the cluster would count (and later reap) a node that never served.
    if (this.ownsServer) await this.listen();
    try {
      await this.backend.start();
      await this.liveness.start();
      for (const extension of this.extensions) await extension.install(this);
    } catch (err) {
      if (this.ownsServer) this.server.close();
      else this.server.off('upgrade', this.upgradeListener);
      throw err;
    }
    this.started = true;
    if (!this.ownsServer) {
      this.log.info(
        { port: this.port, backend: this.backend.name },
        `attached to the app's server; ${this.backend.summary}`,
      );
      return this.port;
    }
    const { port } = this.server.address() as AddressInfo;
    this.log.info(
      {
        port,
        backend: this.backend.name,
        redis: this.config.redisUrl ? redact(this.config.redisUrl) : undefined,
      },
      `listening on port ${port}; ${this.backend.summary}`,
    );
    return port;
  }

  /** Binds the HTTP port; a taken or forbidden address is a `ConfigError` naming the variable. */
  private async listen(): Promise<void> {
    const { port, host } = this.config;
    await new Promise<void>((resolve, reject) => {
      const failed = (err: NodeJS.ErrnoException) => reject(listenError(err, host, port));
      this.server.once('error', failed);
      this.server.listen(port, host, () => {
        this.server.off('error', failed);
        resolve();
      });
    });
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

  onAppended(listener: (event: RoomEvent) => void): void {
    this.router.onAppended(listener);
  }

  setDurableWait(wait: DurableWait): void {
    this.router.setDurableWait(wait);
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
    for (const conn of [...this.connections.all()]) conn.close(CloseCode.ServiceRestart, 'node draining');
    const work = this.connections.emptied();
    const timedOut = (await Promise.race([work, deadline])) === 'timeout';
    if (timedOut) {
      this.log.warn({ connections: this.connections.size }, 'drain timed out; closing what is left');
    }
    this.metrics.drainFinished((performance.now() - started) / 1000, timedOut);
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
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    this.socketLimits.stop();
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
    if (!this.started) return 'starting';
    if (this.draining) return 'draining';
    if (this.backend.status() !== 'up') return 'backend unavailable';
    for (const check of this.readinessChecks) {
      const reason = check();
      if (reason) return reason;
    }
    return undefined;
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // The endpoints are modules that install during start: until then, on a server of
    // the node's own (or with no other listener), every upgrade is told to come back.
    if (!this.started && (this.ownsServer || this.server.listenerCount('upgrade') === 1)) {
      socket.on('error', () => socket.destroy());
      refuseUpgrade(socket, 503, 'node starting');
      return;
    }
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
    if (!this.started || this.draining) {
      refuseUpgrade(socket, 503, this.draining ? 'node draining' : 'node starting');
      return;
    }
    if (this.connections.size + this.upgrading >= this.config.limits.maxConnections) {
      refuseUpgrade(socket, 503, 'node at its connection limit (MAX_CONNECTIONS)');
      return;
    }
    endpoint(socket, head);
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
    this.metrics.connectionOpened(conn.endpoint);
    return socket ? this.socketLimits.watch(conn, socket) : undefined;
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
    this.connections.track(work);
  }
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  const address = `${host}:${port}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new ConfigError('PORT', `${address} is already in use (EADDRINUSE)`);
    case 'EACCES':
      return new ConfigError('PORT', `${address} needs privileges this process lacks (EACCES)`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new ConfigError('HOST', `${address} is not an address of this machine (${err.code})`);
    default:
      return err;
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
