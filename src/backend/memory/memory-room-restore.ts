import type { StoredEvent as HotEvent } from '../../core/events/event';
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

  async restore(room: string, stored: StoredRoom | undefined): Promise<boolean> {
    if (this.loaded.has(room)) return false;
    this.loaded.add(room);
    if (!stored || this.cluster.existing(room, 'events') || this.cluster.existing(room, 'yjs')) return false;
    const { events, yjs } = stored.progress;
    if (events.offset > 0) {
      const log = this.cluster.stream(room, 'events');
      log.epoch = events.epoch;
      log.offset = events.offset;
      log.events = stored.recent.map(
        (e): HotEvent => ({ ...e, room, stream: 'events', epoch: events.epoch }),
      );
    }
    const entries = Object.entries(stored.state);
    if (entries.length > 0) this.cluster.state.set(room, new Map(entries));
    if (stored.document && yjs.offset > 0) {
      const log = this.cluster.stream(room, 'yjs');
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
