import { randomUUID } from 'node:crypto';
import {
  DOCUMENT_STREAM,
  type DocumentSnapshot,
  type DocumentStore,
  type SnapshotWithTail,
} from '../document-store';
import type { SharedMemory } from './shared-memory';

const NONE: DocumentSnapshot = { update: undefined, offset: 0, epoch: '' };

/**
 * The embedded DocumentStore. Everything runs synchronously inside each call, so the
 * compaction's write-and-trim is atomic as the Redis script is.
 */
export class MemoryDocumentStore implements DocumentStore {
  constructor(private readonly shared: SharedMemory) {}

  async snapshot(room: string): Promise<DocumentSnapshot> {
    return this.shared.documents.get(room)?.snapshot ?? NONE;
  }

  async snapshotWithTail(room: string, limit: number): Promise<SnapshotWithTail> {
    const snapshot = this.shared.documents.get(room)?.snapshot ?? NONE;
    const tail = this.shared.readHistory(
      room,
      DOCUMENT_STREAM,
      snapshot.offset,
      snapshot.epoch || undefined,
      limit,
    );
    return { snapshot, tail };
  }

  async lock(room: string, ttlMs: number): Promise<string | undefined> {
    const data = this.room(room);
    if (data.lock && data.lock.expiresAt > Date.now()) return undefined;
    const token = randomUUID();
    data.lock = { token, expiresAt: Date.now() + ttlMs };
    return token;
  }

  async unlock(room: string, token: string): Promise<void> {
    const data = this.shared.documents.get(room);
    if (!data) return;
    if (data.lock?.token === token) data.lock = undefined;
    // A room compacted never and no longer locked leaves no trace.
    if (data.snapshot.offset === 0 && !data.lock) this.shared.documents.delete(room);
  }

  async compact(
    room: string,
    update: Uint8Array,
    offset: number,
    epoch: string,
    token: string,
  ): Promise<boolean> {
    const data = this.room(room);
    const log = this.shared.existing(room, DOCUMENT_STREAM);
    if (data.lock?.token !== token || data.lock.expiresAt <= Date.now()) return false;
    if (!log || log.epoch !== epoch) return false;
    if (data.snapshot.epoch === epoch && data.snapshot.offset >= offset) return false;
    data.snapshot = { update: update.slice(), offset, epoch };
    this.shared.trim(room, DOCUMENT_STREAM, offset);
    return true;
  }

  private room(room: string) {
    let data = this.shared.documents.get(room);
    if (!data) {
      data = { snapshot: NONE };
      this.shared.documents.set(room, data);
    }
    return data;
  }
}
