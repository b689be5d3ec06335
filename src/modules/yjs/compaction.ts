import type { DocumentStore } from '../../backend/document-store';
import type { Logger } from '../../core/log';
import { Y } from './esm';
import type { YjsLog } from './yjs-log';
import type { YjsMetrics } from './yjs-metrics';

export interface CompactionLimits {
  /** Compact once the log tail holds this many entries... */
  readonly maxEntries: number;
  /** ...or this many bytes. */
  readonly maxBytes: number;
}

/**
 * The lock outlives a compaction that hangs (a node paused, Redis slow) so another node
 * can take over; a compaction of a few MB takes well under a second.
 */
const LOCK_TTL_MS = 30_000;

interface Tail {
  /** The last offset counted. */
  offset: number;
  entries: number;
  bytes: number;
  running: boolean;
}

/**
 * Keeps each room's update log short. Every node that serves a room counts the updates
 * it sees (each node sees all of them, in offset order), and when the tail passes a limit
 * it tries to compact: one node at a time per room (the store's lock) merges snapshot and
 * tail, lets Yjs drop deleted content (a Y.Doc with gc on), and writes the new snapshot
 * and trims the log in one atomic step.
 */
export class Compactor {
  private readonly tails = new Map<string, Tail>();
  private readonly running = new Set<Promise<void>>();
  /** Rooms this node does not serve, being compacted after a server-side read. */
  private readonly oneOff = new Set<string>();

  constructor(
    private readonly store: DocumentStore,
    private readonly log: YjsLog,
    private readonly limits: CompactionLimits,
    private readonly logger: Logger,
    private readonly metrics?: YjsMetrics,
  ) {}

  /** This node starts serving the room (its first local Yjs client): count its updates. */
  serve(room: string): void {
    if (!this.tails.has(room)) this.tails.set(room, { offset: 0, entries: 0, bytes: 0, running: false });
  }

  /** The node no longer serves the room: stop counting. */
  forget(room: string): void {
    this.tails.delete(room);
  }

  /**
   * The node read the room's whole document: the tail's size is known exactly. A room this
   * node does not serve (a server-side read) is checked once and not remembered, so reads
   * of many rooms leave nothing behind.
   */
  measured(room: string, offset: number, entries: number, bytes: number): void {
    this.metrics?.logSize(entries, bytes);
    const tail = this.tails.get(room) ?? { offset: 0, entries: 0, bytes: 0, running: this.oneOff.has(room) };
    if (offset < tail.offset) return;
    tail.offset = offset;
    tail.entries = entries;
    tail.bytes = bytes;
    this.check(room, tail);
  }

  /** An update with this offset reached the room's clients on this node. */
  appended(room: string, offset: number, bytes: number): void {
    const tail = this.tails.get(room);
    if (!tail || offset <= tail.offset) return;
    tail.offset = offset;
    tail.entries += 1;
    tail.bytes += bytes;
    this.metrics?.logSize(tail.entries, tail.bytes);
    this.check(room, tail);
  }

  /** Waits for compactions in progress (before the node closes). */
  async idle(): Promise<void> {
    await Promise.all(this.running);
  }

  /**
   * Compacts the room's log now if no other node is doing it. Resolves with whether
   * this call wrote a snapshot.
   */
  async compact(room: string): Promise<boolean> {
    const token = await this.store.lock(room, LOCK_TTL_MS);
    if (!token) return false;
    const started = performance.now();
    try {
      const state = await this.log.read(room);
      if (state.tailEntries === 0) return false;
      const doc = new Y.Doc({ gc: true });
      try {
        Y.applyUpdate(doc, state.update);
        // Pending structs (updates whose dependencies never arrived) are kept by encodeStateAsUpdate.
        const snapshot = Y.encodeStateAsUpdate(doc);
        const done = await this.store.compact(room, snapshot, state.offset, state.epoch, token);
        if (done) {
          this.metrics?.compacted((performance.now() - started) / 1000, state.tailEntries);
          this.logger.debug(
            {
              room,
              offset: state.offset,
              entries: state.tailEntries,
              bytes: state.tailBytes,
              size: snapshot.length,
            },
            'yjs log compacted',
          );
        }
        return done;
      } finally {
        doc.destroy();
      }
    } finally {
      await this.store.unlock(room, token);
    }
  }

  private check(room: string, tail: Tail): void {
    if (tail.running) return;
    if (tail.entries < this.limits.maxEntries && tail.bytes < this.limits.maxBytes) return;
    tail.running = true;
    if (!this.tails.has(room)) this.oneOff.add(room);
    // Counted as compacted whoever does it: if another node holds the lock, it is compacting now.
    tail.entries = 0;
    tail.bytes = 0;
    const work = this.compact(room)
      .catch((err: unknown) => {
        this.metrics?.compactionFailed();
        this.logger.warn({ err, room }, 'yjs compaction failed; retried later');
      })
      .then(() => {
        tail.running = false;
        this.oneOff.delete(room);
        this.running.delete(work);
      });
    this.running.add(work);
  }
}
