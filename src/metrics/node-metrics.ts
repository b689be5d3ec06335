import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { BackendMetrics, BackendStatus } from '../backend/backend';
import type { Connection } from '../connection';
import type { ErrorCode } from '../errors';
import type { StreamName } from '../events/event';
import type { Scope } from '../events/event-definition';
import type { RouterObserver } from '../events/router';
import type { FlowControl } from '../limits/flow-control';
import type { HubMetrics } from '../rooms/room-hub';

/** What the figures read at scrape time come from: the node's own tables. */
export interface MetricsSource {
  readonly node: string;
  connections(): Iterable<Connection>;
  rooms(): number;
  draining(): boolean;
  backendStatus(): BackendStatus;
  /** Whether `type` is a declared event type: anything else is counted as `unknown`. */
  isDeclared(type: string): boolean;
  /** The flow control of every paced socket (Yjs) open now. */
  flows(): Iterable<FlowControl>;
}

/**
 * What the Yjs module reports. It keeps no Y.Doc per room, so the log's length is only
 * known where it is appended to or compacted; those places call these.
 */
export interface YjsMetrics {
  /** After an append: how many updates and bytes the room's update log holds now. */
  logSize(updates: number, bytes: number): void;
  /** A compaction folded `updates` log entries into the snapshot in `seconds`. */
  compacted(seconds: number, updates: number): void;
  /** A compaction failed (the lock was lost or Redis answered an error). */
  compactionFailed(): void;
}

/** Where a counted event came from: a client socket on this node, or another node by the bus. */
export type EventSource = 'client' | 'bus';

/** The endpoints of the built-in modules, counted (as 0) before their first connection. */
const ENDPOINTS: readonly string[] = ['json', 'yjs'];

/** Redis answers in well under a millisecond on a LAN; the top buckets catch a stalled server. */
const REDIS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** A Yjs log is compacted past a threshold of a few hundred updates; the buckets straddle it. */
const LOG_UPDATE_BUCKETS = [10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];
const LOG_BYTE_BUCKETS = [1e3, 1e4, 1e5, 5e5, 1e6, 5e6, 1e7, 5e7];

/** A drain waits for clients to answer a close frame: well under a second, or the timeout. */
const DRAIN_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60];

/**
 * One node's Prometheus figures, in a registry of its own: several nodes run in one test
 * process, and each must expose only its own numbers. The node passes this object to
 * the router and the room hub as their observer, and to the backend for Redis timings;
 * the Yjs module reports through `yjs`. docs/operations.md lists every metric.
 */
export class NodeMetrics implements RouterObserver, HubMetrics {
  readonly registry = new Registry();
  readonly backend: BackendMetrics;
  readonly yjs: YjsMetrics;

  private readonly eventsIn: Counter<'type' | 'scope' | 'source'>;
  private readonly eventsOut: Counter<'type' | 'scope'>;
  private readonly eventsFailed: Counter<'type' | 'code'>;
  private readonly eventsRepeated: Counter<'type'>;
  private readonly deliveries: Counter<'type'>;
  private readonly connectionsOpened: Counter<'protocol'>;
  private readonly gaps: Counter<'stream'>;
  private readonly gapEvents: Counter<'stream'>;
  private readonly drains: Counter;
  private readonly pauses: Counter<'protocol'>;
  private readonly drainTimeouts: Counter;
  private readonly drainSeconds: Histogram;
  private processMetrics = false;

  constructor(private readonly source: MetricsSource) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: source.node });

    new Gauge({
      name: 'swarmcast_connections',
      help: 'Open client connections on this node, by protocol',
      labelNames: ['protocol'],
      registers,
      collect() {
        const counts = new Map<string, number>(ENDPOINTS.map((p) => [p, 0]));
        for (const conn of source.connections())
          counts.set(conn.endpoint, (counts.get(conn.endpoint) ?? 0) + 1);
        for (const [protocol, count] of counts) this.set({ protocol }, count);
      },
    });
    this.pauses = new Counter({
      name: 'swarmcast_flow_pauses_total',
      help: 'Times reading a socket was paused because it sent past its rate or its frames waited to be handled',
      labelNames: ['protocol'],
      registers,
    });
    new Gauge({
      name: 'swarmcast_flow_paused_sockets',
      help: 'Paced sockets that are not being read right now (flow control)',
      registers,
      collect() {
        let paused = 0;
        for (const flow of source.flows()) if (flow.paused) paused++;
        this.set(paused);
      },
    });
    new Gauge({
      name: 'swarmcast_flow_backlog_bytes',
      help: 'Bytes of frames received on paced sockets and not yet handled',
      registers,
      collect() {
        let bytes = 0;
        for (const flow of source.flows()) bytes += flow.backlog.bytes;
        this.set(bytes);
      },
    });
    this.connectionsOpened = new Counter({
      name: 'swarmcast_connections_opened_total',
      help: 'Client connections accepted by this node since it started, by protocol',
      labelNames: ['protocol'],
      registers,
    });
    new Gauge({
      name: 'swarmcast_rooms',
      help: 'Rooms with at least one member on this node',
      registers,
      collect() {
        this.set(source.rooms());
      },
    });
    this.eventsIn = new Counter({
      name: 'swarmcast_events_in_total',
      help: 'Events this node received: from its clients (before validation) or from other nodes by the bus',
      labelNames: ['type', 'scope', 'source'],
      registers,
    });
    this.eventsOut = new Counter({
      name: 'swarmcast_events_out_total',
      help: 'Events this node published to the cluster (room and cluster scope)',
      labelNames: ['type', 'scope'],
      registers,
    });
    this.eventsFailed = new Counter({
      name: 'swarmcast_events_failed_total',
      help: 'Client frames answered with an error, by event type and error code',
      labelNames: ['type', 'code'],
      registers,
    });
    this.eventsRepeated = new Counter({
      name: 'swarmcast_events_repeated_total',
      help: 'Room events sent again with an id already stored within IDEMPOTENCY_WINDOW_MS: answered, not stored again',
      labelNames: ['type'],
      registers,
    });
    this.deliveries = new Counter({
      name: 'swarmcast_events_delivered_total',
      help: 'Room events handed to local members (one per member and event)',
      labelNames: ['type'],
      registers,
    });
    this.gaps = new Counter({
      name: 'swarmcast_gaps_repaired_total',
      help: 'Gaps in a room stream (pub/sub messages missed) filled from history',
      labelNames: ['stream'],
      registers,
    });
    this.gapEvents = new Counter({
      name: 'swarmcast_gap_events_repaired_total',
      help: 'Events read from history to fill gaps',
      labelNames: ['stream'],
      registers,
    });
    new Gauge({
      name: 'swarmcast_backend_up',
      help: '1 when the backend (Redis) is reachable, else 0',
      registers,
      collect() {
        this.set(source.backendStatus() === 'up' ? 1 : 0);
      },
    });

    const publish = new Histogram({
      name: 'swarmcast_redis_publish_seconds',
      help: 'Time of a successful publish to Redis (for room events: the atomic append-and-publish script)',
      buckets: REDIS_BUCKETS,
      registers,
    });
    const roundTrip = new Histogram({
      name: 'swarmcast_redis_roundtrip_seconds',
      help: 'Round-trip time of successful Redis commands other than publishes, by kind (read, write, subscribe)',
      labelNames: ['kind'],
      buckets: REDIS_BUCKETS,
      registers,
    });
    const failures = new Counter({
      name: 'swarmcast_redis_errors_total',
      help: 'Redis calls that failed (unreachable, timed out or refused), by kind',
      labelNames: ['kind'],
      registers,
    });
    this.backend = {
      call(kind, seconds, ok) {
        if (!ok) failures.inc({ kind });
        else if (kind === 'publish') publish.observe(seconds);
        else roundTrip.observe({ kind }, seconds);
      },
    };

    const logUpdates = new Histogram({
      name: 'swarmcast_yjs_log_updates',
      help: 'Length in updates of the log tail (past the snapshot) of a room Yjs log, observed at each append and each full read',
      buckets: LOG_UPDATE_BUCKETS,
      registers,
    });
    const logBytes = new Histogram({
      name: 'swarmcast_yjs_log_bytes',
      help: 'Size in bytes of the log tail (past the snapshot) of a room Yjs log, observed at each append and each full read',
      buckets: LOG_BYTE_BUCKETS,
      registers,
    });
    const compactions = new Counter({
      name: 'swarmcast_yjs_compactions_total',
      help: 'Yjs log compactions run by this node, by result',
      labelNames: ['result'],
      registers,
    });
    const compactionSeconds = new Histogram({
      name: 'swarmcast_yjs_compaction_seconds',
      help: 'Time one Yjs log compaction took',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    const compactedUpdates = new Counter({
      name: 'swarmcast_yjs_compacted_updates_total',
      help: 'Yjs log entries folded into snapshots by this node',
      registers,
    });
    this.yjs = {
      logSize(updates, bytes) {
        logUpdates.observe(updates);
        logBytes.observe(bytes);
      },
      compacted(seconds, updates) {
        compactions.inc({ result: 'ok' });
        compactionSeconds.observe(seconds);
        compactedUpdates.inc(updates);
      },
      compactionFailed() {
        compactions.inc({ result: 'failed' });
      },
    };

    new Gauge({
      name: 'swarmcast_draining',
      help: '1 while this node drains (SIGTERM received), else 0',
      registers,
      collect() {
        this.set(source.draining() ? 1 : 0);
      },
    });
    this.drains = new Counter({ name: 'swarmcast_drains_total', help: 'Drains started', registers });
    this.drainTimeouts = new Counter({
      name: 'swarmcast_drain_timeouts_total',
      help: 'Drains cut short by DRAIN_TIMEOUT_MS with sockets still open',
      registers,
    });
    this.drainSeconds = new Histogram({
      name: 'swarmcast_drain_seconds',
      help: 'Time from the start of a drain until every socket was closed (or the timeout)',
      buckets: DRAIN_BUCKETS,
      registers,
    });
  }

  /**
   * Adds Node's process figures (CPU, memory, event loop lag, GC). Only for the one node a
   * process runs in production: in tests several nodes share one process.
   */
  collectProcessMetrics(): void {
    if (this.processMetrics) return;
    this.processMetrics = true;
    // The standard names (process_*, nodejs_*), so that ready-made Node.js dashboards work.
    collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text exposition of this node's figures. */
  expose(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  readsPaused(protocol: string): void {
    this.pauses.inc({ protocol });
  }

  connectionOpened(protocol: string): void {
    this.connectionsOpened.inc({ protocol });
  }

  // RouterObserver

  received(type: string, scope: string): void {
    this.eventsIn.inc({ type, scope, source: 'client' });
  }

  failed(type: string, code: ErrorCode): void {
    // Frames name any type they like; only declared types become label values.
    this.eventsFailed.inc({ type: this.source.isDeclared(type) ? type : 'unknown', code });
  }

  repeated(type: string): void {
    this.eventsRepeated.inc({ type });
  }

  published(type: string, scope: Scope): void {
    this.eventsOut.inc({ type, scope });
  }

  /** An event another node published, as the bus hands it over. */
  fromBus(type: string, scope: Scope): void {
    this.eventsIn.inc({ type, scope, source: 'bus' });
  }

  // HubMetrics

  gapRepaired(stream: StreamName, count: number): void {
    this.gaps.inc({ stream });
    this.gapEvents.inc({ stream }, count);
  }

  delivered(type: string, members: number): void {
    if (members > 0) this.deliveries.inc({ type }, members);
  }

  // Drains

  drainStarted(): void {
    this.drains.inc();
  }

  drainFinished(seconds: number, timedOut: boolean): void {
    this.drainSeconds.observe(seconds);
    if (timedOut) this.drainTimeouts.inc();
  }
}
