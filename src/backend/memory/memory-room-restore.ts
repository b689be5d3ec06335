import type { StoredEvent as HotEvent, StreamName } from '../../core/events/event';
import { DOCUMENT_STREAM } from '../document-store';
import type { RoomRestore } from '../room-restore';
import type { StoredRoom } from '../storage/document-store';
import { MemoryDocumentStore } from './memory-document-store';
import type { SharedMemory } from './shared-memory';

interface Shared {
  readonly loaded: Set<string>;
  readonly locks: Map<string, { token: string; until: number }>;
  next: number;
}

/** The loaded rooms and load locks of every SharedMemory: its nodes share them as they share the rest. */
const restoreOf = new WeakMap<SharedMemory, Shared>();

/** Loading rooms back into a SharedMemory: the embedded node after a restart. */
export class MemoryRoomRestore implements RoomRestore {
  private readonly loaded: Set<string>;
  private readonly locks: Shared['locks'];
  private readonly shared: Shared;
  private readonly yjs: MemoryDocumentStore;

  constructor(private readonly cluster: SharedMemory) {
    let shared = restoreOf.get(cluster);
    if (!shared) {
      shared = { loaded: new Set(), locks: new Map(), next: 0 };
      restoreOf.set(cluster, shared);
    }
    this.shared = shared;
    this.loaded = shared.loaded;
    this.locks = shared.locks;
    this.yjs = new MemoryDocumentStore(cluster);
  }

  async isLoaded(room: string): Promise<boolean> {
    return this.loaded.has(room);
  }

  async lock(room: string, ttlMs: number): Promise<string | undefined> {
    const held = this.locks.get(room);
    if (held && held.until > Date.now()) return undefined;
    const token = String(++this.shared.next);
    this.locks.set(room, { token, until: Date.now() + ttlMs });
    return token;
  }

  async unlock(room: string, token: string): Promise<void> {
    if (this.locks.get(room)?.token === token) this.locks.delete(room);
  }

  /**
   * The embedded node does not evict: its rooms live in its own heap, which one process
   * serving one machine's rooms is sized for (docs/storage.md).
   */
  async evict(): Promise<boolean> {
    return false;
  }

  async restore(
    room: string,
    stored: StoredRoom | undefined,
    streams: readonly StreamName[],
  ): Promise<boolean> {
    if (this.loaded.has(room)) return false;
    this.loaded.add(room);
    if (!stored) return false;
    const checked = [...streams, ...Object.keys(stored.progress.streams), DOCUMENT_STREAM];
    if (checked.some((stream) => this.cluster.existing(room, stream))) return false;
    const { yjs } = stored.progress;
    for (const [stream, position] of Object.entries(stored.progress.streams)) {
      if (position.offset === 0) continue;
      const log = this.cluster.stream(room, stream);
      log.epoch = position.epoch;
      log.offset = position.offset;
      log.events = (stored.recent[stream] ?? []).map(
        (e): HotEvent => ({ ...e, room, stream, epoch: position.epoch }),
      );
    }
    const entries = Object.entries(stored.state);
    if (entries.length > 0) this.cluster.state.set(room, new Map(entries));
    if (stored.document && yjs.offset > 0) {
      const log = this.cluster.stream(room, DOCUMENT_STREAM);
      log.epoch = yjs.epoch;
      log.offset = yjs.offset;
      // The store's own compaction step writes the snapshot, as a compaction would.
      const token = await this.yjs.lock(room, 10_000);
      if (token) {
        await this.yjs.compact(room, stored.document.update, yjs.offset, yjs.epoch, token);
        await this.yjs.unlock(room, token);
      }
    }
    return true;
  }
}
