import type { Backend } from '../backend/backend';
import { MemoryBackend } from '../backend/memory/memory-backend';
import type { MemoryCluster } from '../backend/memory/memory-cluster';
import { RedisBackend } from '../backend/redis/redis-backend';
import type { RedisClient } from '../backend/redis/scripts';
import { REVOCATION_TTL_MS } from './revocations';

/** One revocation: the user's tokens issued at or before `at` (Unix seconds), for all rooms or one. */
export interface RevocationRecord {
  readonly user: string;
  readonly room?: string;
  readonly at: number;
}

/**
 * Where revocations outlive the cluster event that announced them, so a node that
 * starts later (or restarts) refuses the same tokens. Nodes keep their own copy in
 * memory (`Revocations`) for the checks; this is read once at start.
 */
export interface RevocationStore {
  add(record: RevocationRecord): Promise<void>;
  /** The revocations younger than REVOCATION_TTL_MS; older ones are dropped. */
  recent(): Promise<RevocationRecord[]>;
}

const isRecent = (at: number, now: number) => at * 1000 + REVOCATION_TTL_MS > now;

/** For nodes sharing one MemoryCluster (the embedded backend, tests): one list per cluster. */
export class MemoryRevocationStore implements RevocationStore {
  private static readonly lists = new WeakMap<MemoryCluster, RevocationRecord[]>();
  private readonly list: RevocationRecord[];

  constructor(cluster: MemoryCluster) {
    let list = MemoryRevocationStore.lists.get(cluster);
    if (!list) {
      list = [];
      MemoryRevocationStore.lists.set(cluster, list);
    }
    this.list = list;
  }

  async add(record: RevocationRecord): Promise<void> {
    this.list.push(record);
  }

  async recent(): Promise<RevocationRecord[]> {
    const now = Date.now();
    const kept = this.list.filter((record) => isRecent(record.at, now));
    this.list.splice(0, this.list.length, ...kept);
    return [...kept];
  }
}

/**
 * One Redis hash for the deployment: field `JSON [user, room]` -> `at`. Small (one field
 * per revoked user or user-room within the TTL), read once per node start.
 */
export class RedisRevocationStore implements RevocationStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
  ) {}

  async add(record: RevocationRecord): Promise<void> {
    await this.redis.hset(this.key, JSON.stringify([record.user, record.room ?? null]), String(record.at));
  }

  async recent(): Promise<RevocationRecord[]> {
    const now = Date.now();
    const records: RevocationRecord[] = [];
    const stale: string[] = [];
    for (const [field, value] of Object.entries(await this.redis.hgetall(this.key))) {
      const at = Number(value);
      const parsed = parseField(field);
      if (!parsed || !Number.isFinite(at) || !isRecent(at, now)) {
        stale.push(field);
        continue;
      }
      records.push({ user: parsed[0], room: parsed[1] ?? undefined, at });
    }
    if (stale.length > 0) await this.redis.hdel(this.key, ...stale);
    return records;
  }
}

function parseField(field: string): [string, string | null] | undefined {
  try {
    const value: unknown = JSON.parse(field);
    if (
      Array.isArray(value) &&
      typeof value[0] === 'string' &&
      (typeof value[1] === 'string' || value[1] === null)
    ) {
      return [value[0], value[1]];
    }
  } catch {
    // A field this code did not write: dropped as stale.
  }
  return undefined;
}

/** The store that goes with a node's backend. */
export function revocationStore(backend: Backend): RevocationStore | undefined {
  if (backend instanceof RedisBackend)
    return new RedisRevocationStore(backend.redis, backend.keys.revocations());
  if (backend instanceof MemoryBackend) return new MemoryRevocationStore(backend.cluster);
  return undefined;
}
