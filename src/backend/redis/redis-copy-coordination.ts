import { randomUUID } from 'node:crypto';
import type { CopyCoordination } from '../copy-coordination';
import type { CopyProgress } from '../storage/document-store';
import type { ScriptedRedis } from './scripts';
import type { RedisStoreParts } from './store-parts';

/**
 * Whether a room's streams are past what the database holds. KEYS: 1 events seq,
 * 2 events epoch, 3 yjs seq, 4 yjs epoch, 5 the copied record. Returns 1 when behind.
 * A room without keys (evicted, or Redis flushed) has nothing to copy.
 */
const BEHIND = `
local now = (redis.call('GET', KEYS[1]) or '0') .. '|' .. (redis.call('GET', KEYS[2]) or '') .. '|'
  .. (redis.call('GET', KEYS[3]) or '0') .. '|' .. (redis.call('GET', KEYS[4]) or '')
local copied = redis.call('GET', KEYS[5]) or '0||0|'
if now == copied then return 0 end
return 1
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
  swarmStorageBehind(
    eventsSeq: string,
    eventsEpoch: string,
    yjsSeq: string,
    yjsEpoch: string,
    copied: string,
  ): Promise<number>;
  swarmStorageUnlock(lock: string, token: string): Promise<number>;
}

/** How many index entries one sweep reads per round trip. */
const PAGE = 500;

/**
 * Copy coordination on the cluster's Redis. Per room, under its hash tag: the copy lock
 * and the copied record (`<events offset>|<epoch>|<yjs offset>|<epoch>`); one index of
 * the rooms warm in Redis (a sorted set by last activity), read by the sweep.
 */
export class RedisCopyCoordination implements CopyCoordination {
  private readonly redis: ScriptedRedis & CopyScripts;

  constructor(private readonly backend: RedisStoreParts) {
    backend.redis.defineCommand('swarmStorageBehind', { numberOfKeys: 5, lua: BEHIND });
    backend.redis.defineCommand('swarmStorageUnlock', { numberOfKeys: 1, lua: UNLOCK });
    backend.redis.defineCommand('swarmStorageRenew', { numberOfKeys: 1, lua: RENEW });
    this.redis = backend.redis as ScriptedRedis & CopyScripts;
  }

  /** The sorted set room -> last activity (Unix ms) of the rooms the database copies. */
  indexKey(): string {
    return `${this.backend.keys.prefix}:storage:rooms`;
  }

  roomKey(room: string, what: 'lock' | 'copied'): string {
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
    const record = `${progress.events.offset}|${progress.events.epoch}|${progress.yjs.offset}|${progress.yjs.epoch}`;
    await this.backend.calls.run('write', () =>
      // Two commands, not a MULTI: the index and the room's keys are in different slots of a Redis Cluster.
      Promise.all([
        this.redis.set(this.roomKey(room, 'copied'), record),
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

  async behind(quietSince: number, limit: number): Promise<string[]> {
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
              keys.seq(room, 'events'),
              keys.epoch(room, 'events'),
              keys.seq(room, 'yjs'),
              keys.epoch(room, 'yjs'),
              this.roomKey(room, 'copied'),
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
