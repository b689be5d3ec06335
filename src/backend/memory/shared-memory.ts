import { randomUUID } from 'node:crypto';
import type { Event, Position, RoomEvent, StoredEvent, StreamName } from '../../core/events/event';
import type { AwarenessEntry } from '../awareness-store';
import type { AppendOnce, AppendOutcome, BusListener, HistoryRead, Member, NodeInfo } from '../backend';
import { DOCUMENT_STREAM, type DocumentSnapshot } from '../document-store';
import { reachesBack } from '../history-reach';
import type { RevocationRecord } from '../revocation-store';

/** A remembered idempotent append: where it went, its kept answer, and until when a repeat is one. */
interface IdEntry {
  readonly offset: number;
  readonly epoch: string;
  readonly answer?: string;
  readonly until: number;
}

interface StreamLog {
  epoch: string;
  offset: number;
  events: StoredEvent[];
  /** Idempotency keys of recent appends, oldest first (in Redis: one key each, expiring: docs/redis.md). */
  ids: Map<string, IdEntry>;
}

/**
 * The state a Redis server would hold, for nodes that share one process: the embedded
 * single-node default, and tests that run several nodes over an in-memory bus.
 */
export class SharedMemory {
  readonly streams = new Map<string, StreamLog>();
  readonly members = new Map<string, Map<string, Member>>();
  readonly state = new Map<string, Map<string, unknown>>();
  readonly nodes = new Map<string, { info: NodeInfo; expiresAt: number }>();
  /** Every node that sent a heartbeat and was not forgotten (the reaper's work list). */
  readonly known = new Set<string>();
  /** Reaper locks: node id -> until when. */
  readonly claims = new Map<string, number>();
  /** Per room: the compacted document and its compaction lock. */
  readonly documents = new Map<
    string,
    { snapshot: DocumentSnapshot; lock?: { token: string; expiresAt: number } }
  >();
  /** Per room: each client's latest awareness state. */
  readonly awareness = new Map<string, Map<number, AwarenessEntry>>();
  readonly revocations: RevocationRecord[] = [];
  private readonly listeners = new Map<string, { listener: BusListener; rooms: Set<string> }>();

  constructor(readonly historyLimit: number) {}

  stream(room: string, stream: StreamName): StreamLog {
    const key = `${stream}\u0000${room}`;
    let log = this.streams.get(key);
    if (!log) {
      log = { epoch: randomUUID(), offset: 0, events: [], ids: new Map() };
      this.streams.set(key, log);
    }
    return log;
  }

  /** A stream that was never written has offset 0 and the empty epoch, as in Redis. */
  head(room: string, stream: StreamName): Position {
    const log = this.streams.get(`${stream}\u0000${room}`);
    return log ? { offset: log.offset, epoch: log.epoch } : { offset: 0, epoch: '' };
  }

  existing(room: string, stream: StreamName): StreamLog | undefined {
    return this.streams.get(`${stream}\u0000${room}`);
  }

  /** HistoryStore.read, synchronously (the document store reads a snapshot and its tail in one step). */
  readHistory(
    room: string,
    stream: StreamName,
    after: number,
    epoch: string | undefined,
    limit: number,
  ): HistoryRead {
    const log = this.existing(room, stream) ?? { offset: 0, epoch: '', events: [] };
    const head = { offset: log.offset, epoch: log.epoch };
    const first = log.events[0]?.offset ?? log.offset + 1;
    const complete = reachesBack(head, first, after, epoch);
    if (!complete) return { head, events: [], complete };
    const events = log.events.filter((event) => event.offset > after).slice(0, limit);
    return { head, events: structuredClone(events), complete };
  }

  append(event: RoomEvent, stream: StreamName): StoredEvent {
    const log = this.stream(event.room, stream);
    log.offset += 1;
    const stored: StoredEvent = { ...event, stream, offset: log.offset, epoch: log.epoch };
    log.events.push(stored);
    // Capped like the Redis streams; the document stream is trimmed only by compaction.
    if (stream !== DOCUMENT_STREAM && log.events.length > this.historyLimit) {
      log.events.splice(0, log.events.length - this.historyLimit);
    }
    return stored;
  }

  /**
   * Appends unless `once.key` was appended within its window in this epoch, as the Redis
   * append script does. Keys are dropped oldest first once past their window, so the map
   * holds at most the keys of one window.
   */
  appendOnce(event: RoomEvent, stream: StreamName, once: AppendOnce): AppendOutcome {
    const log = this.stream(event.room, stream);
    const now = Date.now();
    for (const [key, entry] of log.ids) {
      if (entry.until > now) break;
      log.ids.delete(key);
    }
    const seen = log.ids.get(once.key);
    if (seen && seen.until > now && seen.epoch === log.epoch) {
      const position = { offset: seen.offset, epoch: seen.epoch };
      return seen.answer === undefined
        ? { repeat: true, position }
        : { repeat: true, position, answer: seen.answer };
    }
    const stored = this.append(event, stream);
    // Re-inserted, not updated: the map stays in the order the keys expire.
    log.ids.delete(once.key);
    log.ids.set(once.key, {
      offset: stored.offset,
      epoch: stored.epoch,
      until: now + once.windowMs,
      ...(once.answer === undefined ? {} : { answer: once.answer }),
    });
    return { repeat: false, event: stored };
  }

  /** Drops the stream's entries up to `offset`, as compaction does. */
  trim(room: string, stream: StreamName, offset: number): void {
    const log = this.existing(room, stream);
    if (log) log.events = log.events.filter((event) => event.offset > offset);
  }

  attach(node: string, listener: BusListener): Set<string> {
    const rooms = new Set<string>();
    this.listeners.set(node, { listener, rooms });
    return rooms;
  }

  detach(node: string): void {
    this.listeners.delete(node);
  }

  /** Delivers to every other node subscribed to the room, asynchronously like a network would. */
  publishRoom(fromNode: string, event: RoomEvent): void {
    for (const [node, { listener, rooms }] of this.listeners) {
      if (node === fromNode || !rooms.has(event.room)) continue;
      const copy = structuredClone(event);
      setImmediate(() => listener.room(copy));
    }
  }

  publishCluster(fromNode: string, event: Event): void {
    for (const [node, { listener }] of this.listeners) {
      if (node === fromNode) continue;
      const copy = structuredClone(event);
      setImmediate(() => listener.cluster(copy));
    }
  }
}
