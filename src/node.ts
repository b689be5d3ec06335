import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import { embeddedBackend } from './backend';
import type { Backend } from './backend/backend';
import { AccessHooks, type Authenticator, type Authorizer, type UpgradeDecision } from './core/access-hooks';
import type { Config } from './core/config';
import type { Connection } from './core/connection';
import { ConnectionTable } from './core/connection-table';
import { builtinEvents } from './core/events/builtin';
import { leaveRoom } from './core/events/builtin/room';
import type { RoomEvent } from './core/events/event';
import type {
  AnyEventDefinition,
  EmitOptions,
  EmitResult,
  NodeServices,
} from './core/events/event-definition';
import { EventRegistry } from './core/events/registry';
import { type DurableWait, type IncomingFrame, Router } from './core/events/router';
import type { Extension, Host } from './core/host';
import { NodeServer } from './core/http/node-server';
import { Readiness } from './core/http/readiness';
import { type HttpHandler, sendJson } from './core/http/respond';
import { HttpRoutes, type NextHandler, type UpgradeHandler } from './core/http/routes';
import { type NodePhase, UpgradeGate } from './core/http/upgrade-gate';
import type { FlowControl } from './core/limits/flow-control';
import { SocketLimits } from './core/limits/socket-limits';
import { createLogger, type Logger } from './core/log';
import { NodeMetrics } from './core/metrics/node-metrics';
import { closeForDrain } from './core/nodes/drain';
import { Liveness } from './core/nodes/liveness';
import { RoomHub } from './core/rooms/room-hub';
import { JsonEndpoint } from './modules/json/json-endpoint';

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
 * One swarmcast node: it assembles the parts (backend, router, room hub, HTTP server,
 * limits, liveness) and the modules installed on it, and runs their life: start, drain,
 * close. What each part does is in its own file. Start several nodes (processes, or in
 * one process over a shared SharedMemory) and they form a cluster through their backend.
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
  readonly services: NodeServices;
  /** This node's Prometheus figures; modules add their own figures to its `registry`. */
  readonly metrics: NodeMetrics;
  private readonly access = new AccessHooks();
  private readonly http: HttpRoutes;
  private readonly server: NodeServer;
  private readonly gate: UpgradeGate;
  private readonly readiness: Readiness;
  private readonly socketLimits: SocketLimits;
  private readonly liveness: Liveness;
  private readonly extensions: Extension[];
  private readonly peerDownHandlers: Array<(node: string) => Promise<void>> = [];
  /** Set once the backend is up and the node registered; until then upgrades get 503. */
  private started = false;
  private draining: Promise<void> | undefined;
  private readonly startedAt = Date.now();

  constructor(options: SwarmNodeOptions) {
    const { config } = options;
    this.config = config;
    this.id = config.nodeId;
    this.log = options.log ?? createLogger(config.logLevel, this.id);
    this.backend = options.backend ?? embeddedBackend(this.id, config.historyLimit);
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
    this.services = {
      id: this.id,
      backend: this.backend,
      hub: this.hub,
      connections: this.connections,
      can: (conn, access, room) => this.access.authorize(conn, access, room),
      emit: (type, opts) => this.emit(type, opts),
      membershipStale: () => this.liveness.membershipStale(),
    };
    this.router = new Router({
      node: this.id,
      registry: this.registry,
      backend: this.backend,
      hub: this.hub,
      services: () => this.services,
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
    this.socketLimits = new SocketLimits(config.limits, (endpoint) => this.metrics.readsPaused(endpoint));

    this.http = new HttpRoutes(this.log, options.pathPrefix);
    this.server = new NodeServer(
      options.server,
      (req, res) => this.handleRequest(req, res),
      (req, socket, head) => this.gate.upgrade(req, socket, head),
    );
    this.gate = new UpgradeGate({
      server: this.server,
      routes: this.http,
      phase: () => this.phase,
      open: () => this.connections.size,
      maxConnections: config.limits.maxConnections,
    });
    this.readiness = new Readiness(
      () => this.phase,
      () => this.backend.status(),
    );
    this.route('GET /healthz', (_req, res) => sendJson(res, 200, { status: 'ok', node: this.id }));
    this.route('GET /readyz', (_req, res) => {
      const reason = this.readiness.reason();
      sendJson(res, reason ? 503 : 200, { ready: !reason, node: this.id, reason });
    });

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
          address: this.server.address(config.host),
        }),
        announceLeft: async (room, member) => {
          await this.emit('room.member.left', { room, data: member });
        },
        peerDown: (node) => this.runPeerDown(node),
        localMembers: () => this.hub.joinedMembers(this.id),
      },
      { heartbeatMs: config.heartbeatMs, ttlMs: config.nodeTtlMs },
    );
    // The JSON endpoint is a module like the others, installed first.
    this.extensions = [new JsonEndpoint(), ...(options.extensions ?? [])];
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
    return this.server.attached && this.http.upgradeFor(req) !== undefined;
  }

  route(key: string, handler: HttpHandler): void {
    this.http.route(key, handler);
  }

  addUpgrade(path: string, handler: UpgradeHandler): void {
    this.http.upgrade(path, handler);
  }

  addReadinessCheck(check: () => string | undefined): void {
    this.readiness.add(check);
  }

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
  authenticate(req: IncomingMessage, url: URL, room: string | undefined): Promise<UpgradeDecision> {
    return this.gate.counting(() => this.access.authenticate(req, url, room));
  }

  fromSocket(conn: Connection, frame: IncomingFrame): Promise<void> {
    return this.router.fromSocket(conn, frame);
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
   * Registers a connection of any protocol. With its `socket`, the node's limits apply to
   * it (docs/security.md): pings (4504) and the send buffer (4508). Protocols that cannot
   * drop a frame (Yjs) get the returned flow control, which reads a socket past its rate
   * more slowly; the JSON protocol drops frames over its own rate limit instead.
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

  track(work: Promise<void>): void {
    this.connections.track(work);
  }

  get isDraining(): boolean {
    return this.draining !== undefined;
  }

  private get phase(): NodePhase {
    if (this.draining) return 'draining';
    return this.started ? 'serving' : 'starting';
  }

  /** The server's port; 0 while a server the app owns is not listening yet. */
  get port(): number {
    return this.server.port;
  }

  /**
   * Binds the HTTP port, then starts the backend, registers in the cluster and installs
   * the modules; resolves with the bound port. Until it resolves, upgrades get 503 and
   * /readyz says `starting`. On a server the app owns, it does not listen: it resolves
   * with the server's port, or 0 while the app has not called `listen` yet.
   */
  async start(): Promise<number> {
    // The port first: a node that cannot listen must fail before it touches Redis or
    // registers, or the cluster would count (and later reap) a node that never served.
    if (this.server.owned) await this.server.listen(this.config.port, this.config.host);
    try {
      await this.backend.start();
      await this.liveness.start();
      for (const extension of this.extensions) await extension.install(this);
    } catch (err) {
      await this.server.close();
      throw err;
    }
    this.started = true;
    const fields = { port: this.port, backend: this.backend.name };
    if (this.server.owned) {
      const redis = this.config.redisUrl ? redact(this.config.redisUrl) : undefined;
      this.log.info({ ...fields, redis }, `listening on port ${this.port}; ${this.backend.summary}`);
    } else {
      this.log.info(fields, `attached to the app's server; ${this.backend.summary}`);
    }
    return this.port;
  }

  /**
   * Stops taking work and hands clients to other nodes: /readyz turns 503, new upgrades
   * get 503, every socket is closed with 1012 and leaves its rooms, then the node shuts
   * down. Resolves when done or when `timeoutMs` has passed.
   */
  drain(timeoutMs = this.config.drainTimeoutMs): Promise<void> {
    this.draining ??= (async () => {
      await closeForDrain(this.connections, this.log, this.metrics, timeoutMs);
      await this.shutdown();
      this.log.info('drained');
    })();
    return this.draining;
  }

  /** Closes everything at once, without telling anyone (tests, and after a drain). */
  async close(): Promise<void> {
    if (!this.server.owned && this.draining) {
      await this.draining;
      this.server.detach();
      return;
    }
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    this.socketLimits.stop();
    for (const extension of [...this.extensions].reverse()) await extension.close?.();
    // After a drain on the app's server the listener stays, so that upgrades of this
    // node's paths keep getting 503 there instead of hanging; `close` takes it away.
    if (this.server.owned || !this.draining) await this.server.close();
    await this.liveness.stop();
    await this.backend.nodes.remove(this.id).catch(() => {});
    await this.backend.close();
  }

  /** Module clean-ups for a node that died without saying goodbye, each on its own. */
  private async runPeerDown(node: string): Promise<void> {
    for (const handler of this.peerDownHandlers) {
      await handler(node).catch((err: unknown) => this.log.warn({ err, node }, 'peer-down handler failed'));
    }
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
