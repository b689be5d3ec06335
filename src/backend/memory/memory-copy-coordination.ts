import type { Position, StreamName } from '../../core/events/event';
import type { CopyCoordination } from '../copy-coordination';
import { DOCUMENT_STREAM } from '../document-store';
import { type CopyProgress, copiedOf } from '../storage/document-store';
import type { SharedMemory } from './shared-memory';

interface Shared {
  readonly locks: Map<string, { token: string; until: number }>;
  readonly warm: Map<string, number>;
  readonly recorded: Map<string, CopyProgress>;
  next: number;
}

/** The coordination of every SharedMemory: its nodes share locks and the index, as Redis's would. */
const coordinationOf = new WeakMap<SharedMemory, Shared>();

/** Copy coordination for nodes of one process (the embedded node, and tests over a SharedMemory). */
export class MemoryCopyCoordination implements CopyCoordination {
  private readonly locks: Shared['locks'];
  private readonly warm: Shared['warm'];
  private readonly recorded: Shared['recorded'];
  private readonly shared: Shared;

  constructor(private readonly cluster: SharedMemory) {
    let shared = coordinationOf.get(cluster);
    if (!shared) {
      shared = { locks: new Map(), warm: new Map(), recorded: new Map(), next: 0 };
      coordinationOf.set(cluster, shared);
    }
    this.shared = shared;
    ({ locks: this.locks, warm: this.warm, recorded: this.recorded } = shared);
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

  async renew(room: string, token: string, ttlMs: number): Promise<boolean> {
    const held = this.locks.get(room);
    if (held?.token !== token) return false;
    held.until = Date.now() + ttlMs;
    return true;
  }

  async touch(room: string, at: number): Promise<void> {
    this.warm.set(room, Math.max(at, this.warm.get(room) ?? 0));
  }

  async copied(room: string, progress: CopyProgress, at: number): Promise<void> {
    this.recorded.set(room, progress);
    await this.touch(room, at);
  }

  async idle(quietSince: number, limit: number): Promise<string[]> {
    return [...this.warm]
      .filter(([, at]) => at < quietSince)
      .slice(0, limit)
      .map(([room]) => room);
  }

  async forget(room: string): Promise<void> {
    this.warm.delete(room);
    this.recorded.delete(room);
  }

  async behind(quietSince: number, limit: number, streams: readonly StreamName[]): Promise<string[]> {
    const out: string[] = [];
    for (const [room, at] of this.warm) {
      if (out.length >= limit) break;
      if (at >= quietSince) continue;
      const copied = this.recorded.get(room);
      const same = (a: Position, b: Position | undefined) =>
        b !== undefined && a.offset === b.offset && (a.offset === 0 || a.epoch === b.epoch);
      const compared = new Set([...streams, ...Object.keys(copied?.streams ?? {})]);
      const streamBehind = [...compared].some(
        (stream) => !same(this.cluster.head(room, stream), copied ? copiedOf(copied, stream) : undefined),
      );
      if (streamBehind || !same(this.cluster.head(room, DOCUMENT_STREAM), copied?.yjs)) out.push(room);
    }
    return out;
  }
}
