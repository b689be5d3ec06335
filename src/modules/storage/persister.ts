import { Counter, Gauge, type Registry } from 'prom-client';
import type { HistoryStore, StateStore } from '../../backend/backend';
import type { CopyCoordination } from '../../backend/copy-coordination';
import { DOCUMENT_STREAM } from '../../backend/document-store';
import {
  type CopyProgress,
  copiedOf,
  type DocumentStore,
  type StoredEvent,
} from '../../backend/storage/document-store';
import { UnavailableError } from '../../core/errors';
import { DEFAULT_STREAM, type Position, type RoomEvent, type StreamName } from '../../core/events/event';
import type { Logger } from '../../core/log';

/** A room's whole Yjs document as of an offset of its `yjs` stream (the Yjs module's YjsLog reads it). */
export type DocumentReader = (room: string) => Promise<{ update: Uint8Array; offset: number; epoch: string }>;

export interface PersisterOptions {
  readonly store: DocumentStore;
  readonly coordination: CopyCoordination;
  readonly history: HistoryStore;
  readonly state: StateStore;
  readonly document: DocumentReader;
  readonly log: Logger;
  readonly registry: Registry;
  readonly persistDelayMs: number;
  readonly persistMaxWaitMs: number;
  readonly durableTimeoutMs: number;
  /** Events Redis keeps per room: how far back a copy that fell behind can still read. */
  readonly historyLimit: number;
  /** The event streams the node's events declare (`events` among them): what a room's copy reads. */
  readonly streams: () => readonly StreamName[];
}

/** Events per database transaction: large enough to amortise a round trip, small enough to hold a lock briefly. */
const BATCH = 500;
/** A failed copy is retried after the delay, doubled per failure, up to this (docs/storage.md). */
const MAX_BACKOFF_MS = 5000;
/** How many rooms one sweep takes over at most; the next sweep takes the rest. */
const SWEEP_ROOMS = 100;
/** How often a durable wait looks again when another node holds the copy duty. */
const DURABLE_POLL_MS = 20;

/** A room this node appended to that is not yet known to be in the database. */
interface Pending {
  /** When the oldest uncopied append of this node happened (the lag). */
  firstAt: number;
  lastAt: number;
  /** The newest position this node appended, per stream (`yjs` included). */
  readonly appended: Record<StreamName, Position>;
  failures: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The write-behind (docs/storage.md): what this node appends is copied to the database
 * `persistDelayMs` after the room's last append, and at most `persistMaxWaitMs` after the
 * first, in batches, by one node at a time per room (the copy lock). Every node also
 * sweeps the rooms whose appenders went quiet, so the copy a dead node did not finish is
 * taken over. Writes are idempotent by offset: a batch copied twice changes nothing.
 */
export class Persister {
  private readonly pending = new Map<string, Pending>();
  /** Per room, the copy running on this node; a second flush waits for it and runs after. */
  private readonly running = new Map<string, Promise<CopyProgress | undefined>>();
  private readonly lockMs: number;
  private sweepTimer: NodeJS.Timeout | undefined;
  private databaseDown = false;
  private closed = false;
  private readonly copies: Counter<'result'>;
  private readonly eventsCopied: Counter;
  private readonly eventsLost: Counter;

  constructor(private readonly options: PersisterOptions) {
    // Long enough for a copy of a few batches; a copy that takes longer renews it per batch.
    this.lockMs = Math.max(2000, 4 * options.persistDelayMs);
    const { registry } = options;
    const pending = this.pending;
    new Gauge({
      name: 'swarmcast_storage_lag_seconds',
      help: 'Age of the oldest event this node appended that is not yet in the database',
      registers: [registry],
      collect() {
        let oldest = Number.POSITIVE_INFINITY;
        for (const room of pending.values()) oldest = Math.min(oldest, room.firstAt);
        this.set(Number.isFinite(oldest) ? (Date.now() - oldest) / 1000 : 0);
      },
    });
    new Gauge({
      name: 'swarmcast_storage_rooms_pending',
      help: 'Rooms this node appended to whose newest events are not yet in the database',
      registers: [registry],
      collect() {
        this.set(pending.size);
      },
    });
    this.copies = new Counter({
      name: 'swarmcast_storage_copies_total',
      help: 'Copies of a room to the database, by result: ok, failed, or busy (another node held the duty)',
      labelNames: ['result'],
      registers: [registry],
    });
    this.eventsCopied = new Counter({
      name: 'swarmcast_storage_events_copied_total',
      help: 'Events written to the database by this node',
      registers: [registry],
    });
    this.eventsLost = new Counter({
      name: 'swarmcast_storage_events_lost_total',
      help: 'Events trimmed from Redis before they were copied (the copy fell more than HISTORY_LIMIT behind)',
      registers: [registry],
    });
  }

  /** False from a failed copy until the next one succeeds. */
  get databaseUp(): boolean {
    return !this.databaseDown;
  }

  /** Starts the sweep that takes over rooms whose appender went quiet without finishing its copy. */
  start(): void {
    const every = Math.max(500, this.options.persistMaxWaitMs);
    this.sweepTimer = setInterval(() => void this.sweep(), every);
    this.sweepTimer.unref();
  }

  /** This node appended `event` to its room: copy it within the delay. */
  appended(event: RoomEvent): void {
    const stream = event.stream;
    if (this.closed || event.offset === undefined || !stream || !this.kept(stream)) return;
    const now = Date.now();
    let room = this.pending.get(event.room);
    if (!room) {
      room = { firstAt: now, lastAt: now, appended: {}, failures: 0, timer: undefined };
      this.pending.set(event.room, room);
      // The index is what another node sweeps when this one dies before its copy.
      this.options.coordination.touch(event.room, now).catch(() => {});
    }
    room.lastAt = now;
    room.appended[stream] = { offset: event.offset, epoch: event.epoch ?? '' };
    this.schedule(event.room, room);
  }

  /**
   * Resolves once `event` is in the database; rejects with `unavailable` after
   * `durableTimeoutMs` (the event is in Redis and is copied once the database answers).
   */
  async durable(event: RoomEvent): Promise<void> {
    const stream = event.stream ?? DEFAULT_STREAM;
    const wanted = { offset: event.offset ?? 0, epoch: event.epoch ?? '' };
    const deadline = Date.now() + this.options.durableTimeoutMs;
    let wait = DURABLE_POLL_MS;
    while (Date.now() < deadline) {
      try {
        const progress = (await this.flush(event.room)) ?? (await this.options.store.progress(event.room));
        if (covers(positionIn(progress, stream), wanted)) return;
      } catch {
        // The database is down or slow: keep trying until the deadline.
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(wait, Math.max(0, deadline - Date.now()))));
      wait = Math.min(wait * 2, 500);
    }
    throw new UnavailableError(
      'the database did not confirm this event in time; it was delivered and will be copied once the database answers',
    );
  }

  /** Copies the room now (after a copy already running here); resolves with the progress, or undefined when another node has the duty. */
  flush(room: string): Promise<CopyProgress | undefined> {
    const previous = this.running.get(room) ?? Promise.resolve(undefined);
    const next = previous
      .catch(() => undefined)
      .then(() => this.copy(room))
      .finally(() => {
        if (this.running.get(room) === next) this.running.delete(room);
      });
    this.running.set(room, next);
    return next;
  }

  /** Copies what is pending (bounded by `timeoutMs`) and stops. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const room of this.pending.values()) clearTimeout(room.timer);
    const work = Promise.all([...this.pending.keys()].map((room) => this.flush(room).catch(() => undefined)));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([work, timeout]);
    clearTimeout(timer);
    if (this.pending.size > 0) {
      this.options.log.warn(
        { rooms: this.pending.size },
        `stopped with rooms not yet in the database; another node's sweep copies them from Redis`,
      );
    }
  }

  /** Whether the tier copies `stream`: the document's, or an event stream the node declares. */
  private kept(stream: StreamName): boolean {
    return stream === DOCUMENT_STREAM || this.options.streams().includes(stream);
  }

  private schedule(name: string, room: Pending): void {
    const { persistDelayMs, persistMaxWaitMs } = this.options;
    let due = Math.min(room.lastAt + persistDelayMs, room.firstAt + persistMaxWaitMs);
    if (room.failures > 0) {
      due = Math.max(due, Date.now() + Math.min(persistDelayMs * 2 ** room.failures, MAX_BACKOFF_MS));
    }
    clearTimeout(room.timer);
    room.timer = setTimeout(() => void this.due(name), Math.max(0, due - Date.now()));
  }

  private async due(name: string): Promise<void> {
    const room = this.pending.get(name);
    if (!room || this.closed) return;
    try {
      await this.flush(name);
    } catch {
      // Counted and logged in copy(); the room stays pending and is retried.
    }
  }

  /** One copy of one room, if this node can take the duty. Settles the room's pending entry. */
  private async copy(name: string): Promise<CopyProgress | undefined> {
    const room = this.pending.get(name);
    // What this node had appended when the copy started: later appends keep the room pending.
    const target = room ? { ...room.appended } : {};
    let progress: CopyProgress | undefined;
    try {
      progress = await this.copyLocked(name);
    } catch (err) {
      this.copies.inc({ result: 'failed' });
      if (!this.databaseDown) {
        this.databaseDown = true;
        this.options.log.warn({ err, room: name }, 'copy to the database failed; retrying with backoff');
      }
      if (room) {
        room.failures++;
        if (!this.closed) this.schedule(name, room);
      }
      throw err;
    }
    if (!progress) {
      this.copies.inc({ result: 'busy' });
      // Another node is copying; look again after the delay in case it started before our append.
      if (room && !this.closed) {
        room.lastAt = Date.now();
        this.schedule(name, room);
      }
      return undefined;
    }
    this.copies.inc({ result: 'ok' });
    if (this.databaseDown) {
      this.databaseDown = false;
      this.options.log.info('copies to the database succeed again');
    }
    if (room) {
      room.failures = 0;
      const done = Object.keys(target).every((stream) =>
        covers(positionIn(progress, stream), target[stream]!),
      );
      const newer = Object.keys(room.appended).some((stream) => room.appended[stream] !== target[stream]);
      if (done && !newer) {
        clearTimeout(room.timer);
        this.pending.delete(name);
      } else if (done) {
        room.firstAt = room.lastAt;
      }
    }
    return progress;
  }

  private async copyLocked(room: string): Promise<CopyProgress | undefined> {
    const { coordination, store, history, state } = this.options;
    const token = await coordination.lock(room, this.lockMs);
    if (!token) return undefined;
    try {
      const activeAt = this.pending.get(room)?.lastAt ?? Date.now();
      let progress = await store.progress(room);
      // The streams the node declares, and any the database holds that it no longer does.
      const streams = [...new Set([...this.options.streams(), ...Object.keys(progress.streams)])].filter(
        (stream) => stream !== DOCUMENT_STREAM,
      );
      for (const stream of streams) progress = await this.copyStream(room, stream, progress, activeAt, token);
      const yjsHead = await history.head(room, DOCUMENT_STREAM);
      const heads = await Promise.all(streams.map((stream) => history.head(room, stream)));
      if (yjsHead.offset === 0 && heads.every((head) => head.offset === 0)) {
        // Redis does not hold the room (evicted, deleted, flushed): its state there is not
        // "empty", it is absent, and must not replace what the database has.
        return progress;
      }
      const document =
        yjsHead.offset > 0 && !covers(progress.yjs, yjsHead) ? await this.options.document(room) : undefined;
      progress = await store.save({ room, state: await state.all(room), document, activeAt });
      await coordination.copied(room, progress, activeAt);
      return progress;
    } finally {
      await coordination.unlock(room, token).catch(() => {});
    }
  }

  /** Copies what Redis holds of one event stream past `progress`, in batches; returns the progress after. */
  private async copyStream(
    room: string,
    stream: StreamName,
    progress: CopyProgress,
    activeAt: number,
    token: string,
  ): Promise<CopyProgress> {
    const { coordination, store, history, log } = this.options;
    for (;;) {
      const head = await history.head(room, stream);
      const copied = copiedOf(progress, stream);
      let after = head.epoch === copied.epoch ? copied.offset : 0;
      if (head.offset <= after) return progress;
      let read = await history.read(room, stream, after, head.epoch, BATCH);
      if (!read.complete && read.head.epoch === head.epoch) {
        // Redis trimmed entries before they were copied: copy what it still holds.
        const from = Math.max(after, read.head.offset - this.options.historyLimit);
        log.warn(
          { room, stream, lost: from - after },
          'events were trimmed from Redis before they were copied',
        );
        this.eventsLost.inc(from - after);
        after = from;
        read = await history.read(room, stream, after, head.epoch, BATCH);
      }
      if (!read.complete) continue; // the epoch changed under the read: start over from the new head
      if (read.events.length === 0) return progress;
      progress = await store.save({
        room,
        streams: { [stream]: { epoch: head.epoch, entries: read.events.map(toStored) } },
        activeAt,
      });
      this.eventsCopied.inc(read.events.length);
      if (!(await coordination.renew(room, token, this.lockMs))) {
        throw new Error(`lost the copy lock of room "${room}"`);
      }
    }
  }

  /** Takes over rooms whose appenders went quiet with their copy unfinished (a node died). */
  private async sweep(): Promise<void> {
    if (this.closed) return;
    const quietFor = this.options.persistMaxWaitMs + this.lockMs;
    let rooms: string[];
    try {
      rooms = await this.options.coordination.behind(
        Date.now() - quietFor,
        SWEEP_ROOMS,
        this.options.streams(),
      );
    } catch {
      return; // Redis is away; the next sweep looks again.
    }
    for (const room of rooms) {
      if (this.closed) return;
      if (this.pending.has(room)) continue; // this node's own timer copies it
      await this.flush(room).catch(() => {});
    }
  }
}

/** Whether `progress` includes `wanted` (same epoch, at least that offset). */
function covers(progress: Position, wanted: Position): boolean {
  return progress.epoch === wanted.epoch && progress.offset >= wanted.offset;
}

function toStored(event: RoomEvent): StoredEvent {
  return { offset: event.offset ?? 0, type: event.type, data: event.data, from: event.from };
}

/** How far `stream` is copied: the document's position for `yjs`, the stream's own for an event stream. */
function positionIn(progress: CopyProgress, stream: StreamName): Position {
  return stream === DOCUMENT_STREAM ? progress.yjs : copiedOf(progress, stream);
}
