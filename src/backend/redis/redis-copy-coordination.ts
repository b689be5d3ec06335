import { randomUUID } from 'node:crypto';
import type { StreamName } from '../../core/events/event';
import type { CopyCoordination } from '../copy-coordination';
import { DOCUMENT_STREAM } from '../document-store';
import type { CopyProgress } from '../storage/document-store';
import type { ScriptedRedis } from './scripts';
import type { RedisStoreParts } from './store-parts';

/**
 * Whether a room's streams are past what the database holds. KEYS: 1 the copied record
 * (a hash stream -> `<offset>|<epoch>`), then each stream's seq and epoch. ARGV: the
 * streams' names, in the same order. Returns 1 when behind. A room without keys
 * (evicted, or Redis flushed) has nothing to copy.
 */
const BEHIND = `
for i = 1, #ARGV do
  local now = (redis.call('GET', KEYS[2 * i]) or '0') .. '|' .. (redis.call('GET', KEYS[2 * i + 1]) or '')
  if now ~= (redis.call('HGET', KEYS[1], ARGV[i]) or '0|') then return 1 end
end
return 0
`;

/** Release the copy lock only if this token still holds it. KEYS: 1 lock. ARGV: 1 token. */
const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Extend the copy lock only if this token still holds it. KEYS: 1 lock. ARGV: 1 token, 2 ttl ms. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

interface CopyScripts {
  swarmStorageRenew(lock: string, token: string, ttlMs: number): Promise<number>;
  swarmStorageBehind(keys: number, ...args: string[]): Promise<number>;
  swarmStorageUnlock(lock: string, token: string): Promise<number>;
}

/** How many index entries one sweep reads per round trip. */
const PAGE = 500;

/**
 * Copy coordination on the cluster's Redis. Per room, under its hash tag: the copy lock
 * and the copied record (`…:storage:positions`, a hash stream -> `<offset>|<epoch>` of
 * every stream copied, `yjs` included); one index of the rooms warm in Redis (a sorted
 * set by last activity), read by the sweep.
 */
export class RedisCopyCoordination implements CopyCoordination {
  private readonly redis: ScriptedRedis & CopyScripts;

  constructor(private readonly backend: RedisStoreParts) {
    backend.redis.defineCommand('swarmStorageBehind', { lua: BEHIND });
    backend.redis.defineCommand('swarmStorageUnlock', { numberOfKeys: 1, lua: UNLOCK });
    backend.redis.defineCommand('swarmStorageRenew', { numberOfKeys: 1, lua: RENEW });
    this.redis = backend.redis as ScriptedRedis & CopyScripts;
  }

  /** The sorted set room -> last activity (Unix ms) of the rooms the database copies. */
  indexKey(): string {
    return `${this.backend.keys.prefix}:storage:rooms`;
  }

  roomKey(room: string, what: 'lock' | 'positions'): string {
    return `${this.backend.keys.prefix}:room:${this.backend.keys.tag(room)}:storage:${what}`;
  }

  async lock(room: string, ttlMs: number): Promise<string | undefined> {
    const token = randomUUID();
    const ok = await this.backend.calls.run('write', () =>
      this.redis.set(this.roomKey(room, 'lock'), token, 'PX', ttlMs, 'NX'),
    );
    return ok === 'OK' ? token : undefined;
  }

  async unlock(room: string, token: string): Promise<void> {
    await this.backend.calls.run('write', () =>
      this.redis.swarmStorageUnlock(this.roomKey(room, 'lock'), token),
    );
  }

  async renew(room: string, token: string, ttlMs: number): Promise<boolean> {
    const renewed = await this.backend.calls.run('write', () =>
      this.redis.swarmStorageRenew(this.roomKey(room, 'lock'), token, ttlMs),
    );
    return renewed === 1;
  }

  async touch(room: string, at: number): Promise<void> {
    await this.backend.calls.run('write', () => this.redis.zadd(this.indexKey(), 'GT', at, room));
  }

  async copied(room: string, progress: CopyProgress, at: number): Promise<void> {
    const record = copiedRecord(progress);
    await this.backend.calls.run('write', () =>
      // Two commands, not a MULTI: the index and the room's keys are in different slots of a
      // Redis Cluster. A stream's field is never removed: a stream's stored position only
      // moves on (or to a new epoch), and the database does not forget a stream.
      Promise.all([
        this.redis.hset(this.roomKey(room, 'positions'), record),
        this.redis.zadd(this.indexKey(), 'GT', at, room),
      ]),
    );
  }

  async idle(quietSince: number, limit: number): Promise<string[]> {
    return this.backend.calls.run('read', () =>
      this.redis.zrangebyscore(this.indexKey(), '-inf', `(${quietSince}`, 'LIMIT', 0, limit),
    );
  }

  async forget(room: string): Promise<void> {
    await this.backend.calls.run('write', () => this.redis.zrem(this.indexKey(), room));
  }

  async behind(quietSince: number, limit: number, streams: readonly StreamName[]): Promise<string[]> {
    const compared = [...new Set([...streams, DOCUMENT_STREAM])];
    const out: string[] = [];
    const keys = this.backend.keys;
    for (let start = 0; out.length < limit; start += PAGE) {
      const rooms = await this.backend.calls.run('read', () =>
        this.redis.zrangebyscore(this.indexKey(), '-inf', `(${quietSince}`, 'LIMIT', start, PAGE),
      );
      if (rooms.length === 0) break;
      const answers = await this.backend.calls.run('read', () =>
        Promise.all(
          rooms.map((room) =>
            this.redis.swarmStorageBehind(
              1 + 2 * compared.length,
              this.roomKey(room, 'positions'),
              ...compared.flatMap((stream) => [keys.seq(room, stream), keys.epoch(room, stream)]),
              ...compared,
            ),
          ),
        ),
      );
      rooms.forEach((room, i) => {
        if (answers[i] === 1 && out.length < limit) out.push(room);
      });
    }
    return out;
  }
}

/** The copied record's fields: each stored stream's position, and the document's as `yjs`. */
export function copiedRecord(progress: CopyProgress): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [stream, position] of Object.entries(progress.streams)) {
    record[stream] = `${position.offset}|${position.epoch}`;
  }
  record[DOCUMENT_STREAM] = `${progress.yjs.offset}|${progress.yjs.epoch}`;
  return record;
}
