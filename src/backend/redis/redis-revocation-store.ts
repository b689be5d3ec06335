import type { RevocationRecord, RevocationStore } from '../revocation-store';
import type { RedisClient } from './scripts';

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

  async recent(maxAgeMs: number): Promise<RevocationRecord[]> {
    const oldest = Date.now() - maxAgeMs;
    const records: RevocationRecord[] = [];
    const stale: string[] = [];
    for (const [field, value] of Object.entries(await this.redis.hgetall(this.key))) {
      const at = Number(value);
      const parsed = parseField(field);
      if (!parsed || !Number.isFinite(at) || at * 1000 <= oldest) {
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
