import type { Event, Position, RoomEvent, StoredEvent, StreamName } from '../events/event';
import type { AwarenessStore } from './awareness-store';
import type { DocumentStore } from './document-store';
import type { RevocationStore } from './revocation-store';

/** A room member as every node sees it. */
export interface Member {
  readonly conn: string;
  readonly user: string;
  readonly node: string;
}

/** A live node, as it announces itself in the registry. */
export interface NodeInfo {
  readonly id: string;
  readonly startedAt: number;
  readonly connections: number;
  readonly rooms: number;
  readonly address?: string;
}

/** What the bus hands to the node: room events and cluster events from other nodes. */
export interface BusListener {
  /** A room event published by another node (never this one's own). */
  room(event: RoomEvent): void;
  /** A cluster-scope event published by another node. */
  cluster(event: Event): void;
  /**
   * The transport lost messages or may have (reconnected): every room stream must
   * read what it missed from history before delivering anything newer.
   */
  resync(): void;
}

/**
 * What makes an append idempotent: the sender-scoped `key` of its client `id`
 * (src/events/idempotency.ts), for how long it is remembered, and the ack's answer to keep
 * with it (JSON, or absent when the ack is the bare `{offset}`).
 */
export interface AppendOnce {
  readonly key: string;
  readonly windowMs: number;
  readonly answer?: string;
}

/**
 * An idempotent append's outcome: appended and published now, or a repeat of an append
 * made under the same key within the window (in the same epoch), of which it carries the
 * position and the kept answer; a repeat is neither appended nor published.
 */
export type AppendOutcome =
  | { readonly repeat: false; readonly event: StoredEvent }
  | { readonly repeat: true; readonly position: Position; readonly answer?: string };

/**
 * The transport between nodes. For room events, publishing and appending to the
 * room's stream are one atomic step, so the live message carries its offset.
 */
export interface Bus {
  /**
   * Appends the event to `stream` of its room and publishes it on the room's channel,
   * atomically. Returns the event with stream, offset and epoch set. With `stream` null
   * the event is only published (ephemeral: no position).
   */
  publishRoom(event: RoomEvent, stream: StreamName): Promise<StoredEvent>;
  publishRoom(event: RoomEvent, stream: null): Promise<RoomEvent>;
  publishRoom(event: RoomEvent, stream: StreamName | null): Promise<RoomEvent | StoredEvent>;
  /**
   * As `publishRoom` to a stream, unless an append under `once.key` was made within
   * `once.windowMs` in the stream's current epoch: the check, the append, the publish and
   * remembering the key are one atomic step, so two repeats racing on two nodes store one
   * event.
   */
  appendOnce(event: RoomEvent, stream: StreamName, once: AppendOnce): Promise<AppendOutcome>;
  publishCluster(event: Event): Promise<void>;
  /** Resolves once messages of the room are being received. */
  subscribe(room: string): Promise<void>;
  unsubscribe(room: string): Promise<void>;
  listen(listener: BusListener): void;
}

export interface HistoryRead {
  /** The stream's head: the offset of its newest event, and its epoch. */
  readonly head: Position;
  /** Events after the requested offset, in order, up to the head or the limit. */
  readonly events: StoredEvent[];
  /** False when the history no longer reaches back to the requested offset or the epoch differs. */
  readonly complete: boolean;
}

/** The capped, ordered history of each room stream. Appending is the Bus's job. */
export interface HistoryStore {
  head(room: string, stream: StreamName): Promise<Position>;
  /** Events with offset > after (in that epoch when given), at most `limit`. */
  read(room: string, stream: StreamName, after: number, epoch?: string, limit?: number): Promise<HistoryRead>;
}

export interface MemberStore {
  add(room: string, member: Member): Promise<void>;
  /** Returns whether the member was there. */
  remove(room: string, conn: string): Promise<boolean>;
  list(room: string): Promise<Member[]>;
  /** Removes every member a (dead) node had, and returns them so they can be announced. */
  removeNode(node: string): Promise<Array<{ room: string; member: Member }>>;
}

export interface StateStore {
  get(room: string, key: string): Promise<unknown>;
  set(room: string, key: string, value: unknown): Promise<void>;
  all(room: string): Promise<Record<string, unknown>>;
}

export interface NodeRegistry {
  /**
   * Announces this node alive for `ttlMs` more milliseconds. Resolves with whether its
   * previous heartbeat was still alive: false on the first beat, and after a silence
   * long enough for other nodes to have taken it for dead.
   */
  heartbeat(info: NodeInfo, ttlMs: number): Promise<boolean>;
  /** Nodes whose heartbeat has not expired. */
  live(): Promise<NodeInfo[]>;
  /**
   * Nodes that registered and whose heartbeat has expired (or that said goodbye), not
   * yet forgotten: the reaper's work list. Read from one snapshot of the registry, so a
   * node that is just registering is never taken for dead.
   */
  dead(): Promise<string[]>;
  /** Says goodbye: drops the node's heartbeat at once, and the node itself unless members are still listed for it. */
  remove(node: string): Promise<void>;
  /** Takes the right to clean up after a dead node, for `ttlMs`; false when another node has it. */
  claim(node: string, ttlMs: number): Promise<boolean>;
  /** Drops a node from the registry once it has been cleaned up after. */
  forget(node: string): Promise<void>;
}

export type BackendStatus = 'up' | 'down';

/** Timings a backend reports for /metrics (src/metrics/node-metrics.ts). */
export interface BackendMetrics {
  /**
   * One call to the backend took `seconds`; `ok` is false when it failed. `kind` is
   * `publish` (a publish, or the atomic append-and-publish of a room event), `read`,
   * `write` or `subscribe`.
   */
  call(kind: 'publish' | 'read' | 'write' | 'subscribe', seconds: number, ok: boolean): void;
}

/**
 * Everything a node keeps outside its own heap: the bus and every store a module needs,
 * as one matched set (the atomic append-and-publish needs both bus and history; the
 * compaction needs both history and documents). Memory and Redis implement it; a new
 * backend implements every member (docs/architecture.md lists them) and passes the
 * contract suite in test/backend/.
 */
export interface Backend {
  /** What the backend is called in node.info and the logs (`memory`, `redis`). Never switched on. */
  readonly name: string;
  /** How the start-up log line describes the node's place, after `listening on port N; `. */
  readonly summary: string;
  readonly bus: Bus;
  readonly history: HistoryStore;
  readonly members: MemberStore;
  readonly state: StateStore;
  readonly nodes: NodeRegistry;
  /** Compacted documents (snapshot + lock) over the DOCUMENT_STREAM of each room. */
  readonly documents: DocumentStore;
  readonly awareness: AwarenessStore;
  readonly revocations: RevocationStore;
  /** Whether the backend can serve now (Redis reachable). */
  status(): BackendStatus;
  /** Called on every status change. */
  onStatus(listener: (status: BackendStatus) => void): void;
  /** Where to report timings; the node calls it once. The memory backend has nothing worth timing. */
  useMetrics?(metrics: BackendMetrics): void;
  start(): Promise<void>;
  close(): Promise<void>;
}
