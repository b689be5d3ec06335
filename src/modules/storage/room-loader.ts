import { Counter, type Registry } from 'prom-client';
import type { CopyCoordination } from '../../backend/copy-coordination';
import type { DocumentSnapshot } from '../../backend/document-store';
import type { RoomRestore } from '../../backend/room-restore';
import type { DocumentStore, StoredRoom } from '../../backend/storage/document-store';
import { UnavailableError } from '../../core/errors';
import type { StreamName } from '../../core/events/event';
import type { Logger } from '../../core/log';

export interface RoomLoaderOptions {
  readonly store: DocumentStore;
  readonly restore: RoomRestore;
  readonly coordination: CopyCoordination;
  readonly log: Logger;
  readonly registry: Registry;
  /** Events loaded back into Redis's history: as many as it keeps. */
  readonly historyLimit: number;
  /** The event streams the node's events declare: live keys of any of them keep a room as Redis has it. */
  readonly streams: () => readonly StreamName[];
}

/** How long a node waits for another node's load (or the database) before it answers `unavailable`. */
const LOAD_WAIT_MS = 10_000;
/** The load lock's expiry: a loader that dies frees the room after this. */
const LOAD_LOCK_MS = 15_000;
/** How often a node waiting for another node's load looks again. */
const POLL_MS = 20;

/**
 * Loads a room back into the hot tier the first time it is entered while Redis does not
 * hold it (evicted, Redis flushed or replaced, the embedded node restarted). One node
 * loads (the load lock); the others wait until it is marked loaded. Nothing is appended
 * to the room before: the room's members enter only after the load.
 */
/** A load in progress: its end, and the document it read, once read under the lock. */
interface Load {
  readonly done: Promise<void>;
  readonly document: Promise<DocumentSnapshot | undefined>;
}

export class RoomLoader {
  private readonly loading = new Map<string, Load>();
  private readonly loads: Counter<'result'>;

  constructor(private readonly options: RoomLoaderOptions) {
    this.loads = new Counter({
      name: 'swarmcast_storage_loads_total',
      help: 'Rooms this node loaded back from the database, by result: loaded, empty (nothing stored), live (Redis held it)',
      labelNames: ['result'],
      registers: [options.registry],
    });
  }

  /** Resolves once the room is in the hot tier; rejects with `unavailable` when it cannot be loaded. */
  ensure(room: string): Promise<void> {
    let running = this.loading.get(room);
    if (!running) {
      let read: (document: DocumentSnapshot | undefined) => void = () => {};
      const document = new Promise<DocumentSnapshot | undefined>((resolve) => {
        read = resolve;
      });
      const done = this.load(room, read).finally(() => {
        read(undefined);
        this.loading.delete(room);
      });
      running = { done, document };
      this.loading.set(room, running);
    }
    return running.done;
  }

  /**
   * The document of `room` as this node's running load read it from the database, once read
   * under the load lock and while the write-back into Redis may still run; undefined when
   * this node is not loading the room, another node loads it, or nothing is stored. For
   * reading only: a joiner's first sync answer can start from it. Appends still wait for
   * `ensure`. A document read here may be older than what Redis holds once the load is done
   * (Redis turned out to hold the room): its offset and epoch tell.
   */
  loadingDocument(room: string): Promise<DocumentSnapshot | undefined> {
    return this.loading.get(room)?.document ?? Promise.resolve(undefined);
  }

  private async load(room: string, read: (document: DocumentSnapshot | undefined) => void): Promise<void> {
    const { restore } = this.options;
    if (await restore.isLoaded(room)) return;
    const deadline = Date.now() + LOAD_WAIT_MS;
    // The database read starts with the lock, not after it: a reopen waits for both, and
    // the lock is nearly always free. A node that does not get the lock at once drops what
    // it read (the room may change hands before it gets it); one that does can use it,
    // since nothing could load, serve and evict the room between the read and the lock.
    let reading: Promise<StoredRoom | undefined> | undefined = this.read(room);
    // Awaited under the lock; until then (or if the lock call fails) its rejection is not unhandled.
    reading.catch(() => {});
    while (Date.now() < deadline) {
      const token = await restore.lock(room, LOAD_LOCK_MS);
      if (token) {
        try {
          await this.loadLocked(room, reading ?? this.read(room), read);
        } finally {
          reading = undefined;
          await restore.unlock(room, token).catch(() => {});
        }
        return;
      }
      reading = undefined;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (await restore.isLoaded(room)) return;
    }
    throw new UnavailableError('another node is still loading this room from the database; retry later');
  }

  /** The room as the database holds it; rejects with `unavailable` when the database does not answer. */
  private async read(room: string): Promise<StoredRoom | undefined> {
    try {
      return await this.options.store.load(room, this.options.historyLimit);
    } catch (err) {
      this.options.log.warn({ err, room }, 'could not load a room from the database');
      throw new UnavailableError(
        'the room must be loaded from the database, which is unavailable; retry later',
      );
    }
  }

  /** Under the load lock: writes the room back unless it is loaded by now (the restore step checks). */
  private async loadLocked(
    room: string,
    reading: Promise<StoredRoom | undefined>,
    read: (document: DocumentSnapshot | undefined) => void,
  ): Promise<void> {
    const stored = await reading;
    const yjs = stored?.progress.yjs;
    const document =
      stored?.document && yjs && yjs.offset > 0
        ? { update: stored.document.update, offset: yjs.offset, epoch: yjs.epoch }
        : undefined;
    read(document);
    // The joiners waiting for the document answer first (their sync steps are a few ms of
    // work); the restore's own first step, building and sending 1 MB of script arguments,
    // would otherwise run before them.
    if (document) await new Promise((resolve) => setImmediate(resolve));
    const wrote = await this.options.restore.restore(room, stored, this.options.streams());
    this.loads.inc({ result: wrote ? 'loaded' : stored ? 'live' : 'empty' });
    // Loading is activity: recorded with the room's old activity time, the room would be
    // an eviction candidate at once, and could leave Redis before its opener is in it.
    if (stored) await this.options.coordination.copied(room, stored.progress, Date.now()).catch(() => {});
  }
}
