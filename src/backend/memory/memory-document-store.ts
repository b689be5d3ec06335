import { randomUUID } from 'node:crypto';
import type { MemoryCluster } from '../backend/memory/memory-cluster';
import type { AwarenessEntry, YjsSnapshot, YjsStore } from './yjs-store';

interface RoomData {
  snapshot: YjsSnapshot;
  lock?: { token: string; expiresAt: number };
  awareness: Map<number, AwarenessEntry>;
}

/** The data of every MemoryCluster, so that nodes of one process share it as they share the cluster. */
const clusters = new WeakMap<MemoryCluster, Map<string, RoomData>>();

/**
 * The embedded YjsStore, next to a MemoryCluster. Everything runs synchronously inside
 * each call, so the compaction's write-and-trim is atomic as the Redis script is.
 */
export class MemoryYjsStore implements YjsStore {
  private readonly rooms: Map<string, RoomData>;

  constructor(private readonly cluster: MemoryCluster) {
    let rooms = clusters.get(cluster);
    if (!rooms) {
      rooms = new Map();
      clusters.set(cluster, rooms);
    }
    this.rooms = rooms;
  }

  async snapshot(room: string): Promise<YjsSnapshot> {
    return this.rooms.get(room)?.snapshot ?? { update: undefined, offset: 0, epoch: '' };
  }

  async lock(room: string, ttlMs: number): Promise<string | undefined> {
    const data = this.room(room);
    if (data.lock && data.lock.expiresAt > Date.now()) return undefined;
    const token = randomUUID();
    data.lock = { token, expiresAt: Date.now() + ttlMs };
    return token;
  }

  async unlock(room: string, token: string): Promise<void> {
    const data = this.rooms.get(room);
    if (data?.lock?.token === token) data.lock = undefined;
    if (data) this.dropIfEmpty(room, data);
  }

  async compact(
    room: string,
    update: Uint8Array,
    offset: number,
    epoch: string,
    token: string,
  ): Promise<boolean> {
    const data = this.room(room);
    const log = this.cluster.existing(room, 'yjs');
    if (data.lock?.token !== token || data.lock.expiresAt <= Date.now()) return false;
    if (!log || log.epoch !== epoch) return false;
    if (data.snapshot.epoch === epoch && data.snapshot.offset >= offset) return false;
    data.snapshot = { update: update.slice(), offset, epoch };
    log.events = log.events.filter((event) => (event.offset ?? 0) > offset);
    return true;
  }

  async putAwareness(room: string, entries: readonly AwarenessEntry[]): Promise<void> {
    const data = this.room(room);
    for (const entry of entries) data.awareness.set(entry.client, entry);
  }

  async removeAwareness(room: string, clients: readonly number[]): Promise<void> {
    const data = this.rooms.get(room);
    if (!data) return;
    for (const client of clients) data.awareness.delete(client);
    this.dropIfEmpty(room, data);
  }

  async awarenessOf(room: string, clients: readonly number[]): Promise<Map<number, AwarenessEntry>> {
    const stored = this.rooms.get(room)?.awareness;
    const found = new Map<number, AwarenessEntry>();
    for (const client of clients) {
      const entry = stored?.get(client);
      if (entry) found.set(client, entry);
    }
    return found;
  }

  async listAwareness(room: string, maxAgeMs: number): Promise<AwarenessEntry[]> {
    const oldest = Date.now() - maxAgeMs;
    return [...(this.rooms.get(room)?.awareness.values() ?? [])].filter((e) => e.updatedAt >= oldest);
  }

  async forgetRoom(): Promise<void> {
    // removeNode looks at every room: there is no per-node list to shorten.
  }

  async removeNode(node: string): Promise<Array<{ room: string; entries: AwarenessEntry[] }>> {
    const removed: Array<{ room: string; entries: AwarenessEntry[] }> = [];
    for (const [room, data] of this.rooms) {
      const entries = [...data.awareness.values()].filter((e) => e.node === node);
      if (entries.length === 0) continue;
      for (const entry of entries) data.awareness.delete(entry.client);
      removed.push({ room, entries });
      this.dropIfEmpty(room, data);
    }
    return removed;
  }

  private room(room: string): RoomData {
    let data = this.rooms.get(room);
    if (!data) {
      data = { snapshot: { update: undefined, offset: 0, epoch: '' }, awareness: new Map() };
      this.rooms.set(room, data);
    }
    return data;
  }

  /** A room with nothing left in it is forgotten, so rooms opened and left leave no trace. */
  private dropIfEmpty(room: string, data: RoomData): void {
    if (data.snapshot.offset === 0 && !data.lock && data.awareness.size === 0) this.rooms.delete(room);
  }
}
