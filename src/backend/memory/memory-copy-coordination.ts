import type { Position } from '../../core/events/event';
import type { CopyCoordination } from '../copy-coordination';
import type { CopyProgress } from '../storage/document-store';
import type { SharedMemory } from './shared-memory';

/** Copy coordination for nodes of one process (the embedded node, and tests over a SharedMemory). */
export class MemoryCopyCoordination implements CopyCoordination {
  private readonly locks = new Map<string, { token: string; until: number }>();
  private readonly warm = new Map<string, number>();
  private readonly recorded = new Map<string, CopyProgress>();
  private next = 0;

  constructor(private readonly cluster: SharedMemory) {}

  async lock(room: string, ttlMs: number): Promise<string | undefined> {
    const held = this.locks.get(room);
    if (held && held.until > Date.now()) return undefined;
    const token = String(++this.next);
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

  async behind(quietSince: number, limit: number): Promise<string[]> {
    const out: string[] = [];
    for (const [room, at] of this.warm) {
      if (out.length >= limit) break;
      if (at >= quietSince) continue;
      const copied = this.recorded.get(room);
      const same = (a: Position, b: Position | undefined) =>
        b !== undefined && a.offset === b.offset && (a.offset === 0 || a.epoch === b.epoch);
      const events = this.cluster.head(room, 'events');
      const yjs = this.cluster.head(room, 'yjs');
      if (!same(events, copied?.events) || !same(yjs, copied?.yjs)) out.push(room);
    }
    return out;
  }
}
