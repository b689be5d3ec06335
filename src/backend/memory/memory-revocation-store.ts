import type { RevocationRecord, RevocationStore } from '../revocation-store';
import type { SharedMemory } from './shared-memory';

/** The embedded RevocationStore: one list per SharedMemory, shared by its nodes. */
export class MemoryRevocationStore implements RevocationStore {
  constructor(private readonly shared: SharedMemory) {}

  async add(record: RevocationRecord): Promise<void> {
    this.shared.revocations.push(record);
  }

  async recent(maxAgeMs: number): Promise<RevocationRecord[]> {
    const oldest = Date.now() - maxAgeMs;
    const list = this.shared.revocations;
    const kept = list.filter((record) => record.at * 1000 > oldest);
    list.splice(0, list.length, ...kept);
    return [...kept];
  }
}
