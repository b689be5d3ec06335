import type { AwarenessEntry, AwarenessStore } from '../awareness-store';
import type { SharedMemory } from './shared-memory';

/** The embedded AwarenessStore: one map of states per room, shared by the nodes of one SharedMemory. */
export class MemoryAwarenessStore implements AwarenessStore {
  constructor(private readonly shared: SharedMemory) {}

  async put(room: string, entries: readonly AwarenessEntry[]): Promise<void> {
    if (entries.length === 0) return;
    let states = this.shared.awareness.get(room);
    if (!states) {
      states = new Map();
      this.shared.awareness.set(room, states);
    }
    for (const entry of entries) states.set(entry.client, entry);
  }

  async remove(room: string, clients: readonly number[]): Promise<void> {
    const states = this.shared.awareness.get(room);
    if (!states) return;
    for (const client of clients) states.delete(client);
    if (states.size === 0) this.shared.awareness.delete(room);
  }

  async of(room: string, clients: readonly number[]): Promise<Map<number, AwarenessEntry>> {
    const states = this.shared.awareness.get(room);
    const found = new Map<number, AwarenessEntry>();
    for (const client of clients) {
      const entry = states?.get(client);
      if (entry) found.set(client, entry);
    }
    return found;
  }

  async list(room: string, maxAgeMs: number): Promise<AwarenessEntry[]> {
    const oldest = Date.now() - maxAgeMs;
    return [...(this.shared.awareness.get(room)?.values() ?? [])].filter((e) => e.updatedAt >= oldest);
  }

  async forgetRoom(): Promise<void> {
    // removeNode looks at every room: there is no per-node list to shorten.
  }

  async removeNode(node: string): Promise<Array<{ room: string; entries: AwarenessEntry[] }>> {
    const removed: Array<{ room: string; entries: AwarenessEntry[] }> = [];
    for (const [room, states] of this.shared.awareness) {
      const entries = [...states.values()].filter((e) => e.node === node);
      if (entries.length === 0) continue;
      for (const entry of entries) states.delete(entry.client);
      if (states.size === 0) this.shared.awareness.delete(room);
      removed.push({ room, entries });
    }
    return removed;
  }
}
