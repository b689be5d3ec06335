import type { RevocationRecord, RevocationStore } from '../revocation-store';
import type { MemoryCluster } from './memory-cluster';

/** The embedded RevocationStore: one list per cluster, shared by its nodes. */
export class MemoryRevocationStore implements RevocationStore {
  constructor(private readonly cluster: MemoryCluster) {}

  async add(record: RevocationRecord): Promise<void> {
    this.cluster.revocations.push(record);
  }

  async recent(maxAgeMs: number): Promise<RevocationRecord[]> {
    const oldest = Date.now() - maxAgeMs;
    const list = this.cluster.revocations;
    const kept = list.filter((record) => record.at * 1000 > oldest);
    list.splice(0, list.length, ...kept);
    return [...kept];
  }
}
