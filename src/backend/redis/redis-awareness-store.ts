import type { AwarenessEntry, AwarenessStore } from '../awareness-store';
import type { RedisKeys } from './keys';
import type { RedisCalls } from './redis-calls';
import type { ScriptedRedis } from './scripts';

/**
 * Awareness states outlive their last update by this much before Redis drops the whole
 * hash of an idle room; list() already ignores states older than the protocol's 30 s.
 */
const AWARENESS_KEY_TTL_MS = 120_000;

/**
 * The states and the hash's expiry in one step. A script, not MULTI: ioredis's cluster
 * pipelines can lose track of their replies (see slot-owner.ts). KEYS: 1 the room's
 * hash. ARGV: 1 the TTL in ms, then client/JSON pairs.
 */
const PUT = `
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return redis.call('PEXPIRE', KEYS[1], ARGV[1])
`;

interface AwarenessScripts {
  swarmAwarenessPut(key: string, ttlMs: number, ...fields: string[]): Promise<number>;
}

/**
 * The AwarenessStore on the cluster's Redis: per room a hash clientID -> entry JSON, and
 * per node the set of rooms its clients have states in, so a dead node's are found.
 */
export class RedisAwarenessStore implements AwarenessStore {
  private readonly redis: ScriptedRedis & AwarenessScripts;

  constructor(
    redis: ScriptedRedis,
    private readonly keys: RedisKeys,
    private readonly calls: RedisCalls,
  ) {
    redis.defineCommand('swarmAwarenessPut', { numberOfKeys: 1, lua: PUT });
    this.redis = redis as ScriptedRedis & AwarenessScripts;
  }

  private run<T>(kind: 'read' | 'write', call: () => Promise<T>): Promise<T> {
    return this.calls.run(kind, call);
  }

  async put(room: string, entries: readonly AwarenessEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const key = this.keys.awareness(room);
    const fields = entries.flatMap((entry) => [String(entry.client), JSON.stringify(entry)]);
    const nodes = [...new Set(entries.map((entry) => entry.node))];
    // The node's index first (its own slot), the states after: the index is never
    // missing a room where the node has states, so the reaper finds them all.
    await this.run('write', () =>
      Promise.all(nodes.map((node) => this.redis.sadd(this.keys.yjsNodeRooms(node), room))),
    );
    await this.run('write', () => this.redis.swarmAwarenessPut(key, AWARENESS_KEY_TTL_MS, ...fields));
  }

  async remove(room: string, clients: readonly number[]): Promise<void> {
    if (clients.length === 0) return;
    await this.run('write', () => this.redis.hdel(this.keys.awareness(room), ...clients.map(String)));
  }

  async of(room: string, clients: readonly number[]): Promise<Map<number, AwarenessEntry>> {
    const found = new Map<number, AwarenessEntry>();
    if (clients.length === 0) return found;
    const values = await this.run('read', () =>
      this.redis.hmget(this.keys.awareness(room), ...clients.map(String)),
    );
    clients.forEach((client, i) => {
      const json = values[i];
      if (json) found.set(client, JSON.parse(json) as AwarenessEntry);
    });
    return found;
  }

  async list(room: string, maxAgeMs: number): Promise<AwarenessEntry[]> {
    const values = await this.run('read', () => this.redis.hvals(this.keys.awareness(room)));
    const oldest = Date.now() - maxAgeMs;
    return values.map((json) => JSON.parse(json) as AwarenessEntry).filter((e) => e.updatedAt >= oldest);
  }

  async forgetRoom(node: string, room: string): Promise<void> {
    await this.run('write', () => this.redis.srem(this.keys.yjsNodeRooms(node), room));
  }

  async removeNode(node: string): Promise<Array<{ room: string; entries: AwarenessEntry[] }>> {
    const rooms = await this.run('read', () => this.redis.smembers(this.keys.yjsNodeRooms(node)));
    const removed: Array<{ room: string; entries: AwarenessEntry[] }> = [];
    for (const room of rooms) {
      // Awareness entries carry `node` as members do: the one script removes either.
      const values = await this.run('write', () =>
        this.redis.swarmRemoveNodeMembers(this.keys.awareness(room), node),
      );
      const entries = values.map((json) => JSON.parse(json) as AwarenessEntry);
      if (entries.length > 0) removed.push({ room, entries });
    }
    await this.run('write', () => this.redis.del(this.keys.yjsNodeRooms(node)));
    return removed;
  }
}
