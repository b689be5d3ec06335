import { randomUUID } from 'node:crypto';
import type { RedisBackend } from '../backend/redis/redis-backend';
import type { AwarenessEntry, YjsSnapshot, YjsStore } from './yjs-store';

/**
 * A snapshot is stored in parts of at most this many bytes, one hash field each. A reply
 * that spans several socket reads is copied by ioredis's reply parser into a process-wide
 * pool that grows to three times the largest such reply (plus what it holds already) and
 * keeps that size for the life of the process: read as one 1 MB value, ten snapshots left
 * a node 5-9 MB larger for good; read in 16 KB parts, the pool stays under 1 MB.
 */
export const SNAPSHOT_PART_BYTES = 16 * 1024;

/**
 * Replace the snapshot and trim the log it covers, in one step, so a reader sees either
 * the old snapshot with the whole log after it, or the new one with the rest.
 * KEYS: 1 lock, 2 snapshot hash, 3 yjs stream, 4 yjs stream epoch.
 * ARGV: 1 lock token, 2 offset covered, 3 epoch of that offset, 4.. the snapshot's parts.
 * Returns 1 when written, 0 when the lock was lost, the epoch changed or a newer snapshot is there.
 */
const COMPACT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('GET', KEYS[4]) ~= ARGV[3] then return 0 end
local current = redis.call('HMGET', KEYS[2], 'offset', 'epoch')
local offset = tonumber(ARGV[2])
if current[2] == ARGV[3] and tonumber(current[1] or '0') >= offset then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'offset', ARGV[2], 'epoch', ARGV[3], 'parts', #ARGV - 3)
for i = 4, #ARGV do
  redis.call('HSET', KEYS[2], 'p' .. (i - 4), ARGV[i])
end
redis.call('XTRIM', KEYS[3], 'MINID', (offset + 1) .. '-0')
return 1
`;

/** Release a lock only if this token still holds it. KEYS: 1 lock. ARGV: 1 token. */
const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Awareness states outlive their last update by this much before Redis drops the whole
 * hash of an idle room; list() already ignores states older than the protocol's 30 s.
 */
const AWARENESS_KEY_TTL_MS = 120_000;

interface YjsScripts {
  swarmYjsCompact(
    lock: string,
    snapshot: string,
    log: string,
    epochKey: string,
    token: string,
    offset: number,
    epoch: string,
    ...parts: Buffer[]
  ): Promise<number>;
  swarmYjsUnlock(lock: string, token: string): Promise<number>;
}

/**
 * The YjsStore on the cluster's Redis (docs/redis.md and docs/yjs.md list the keys):
 * per room a snapshot hash, a lock and an awareness hash, all under the room's hash tag
 * with its `yjs` stream, so the compaction script touches one slot.
 */
export class RedisYjsStore implements YjsStore {
  private readonly redis: RedisBackend['redis'] & YjsScripts;

  constructor(private readonly backend: RedisBackend) {
    const redis = backend.redis;
    redis.defineCommand('swarmYjsCompact', { numberOfKeys: 4, lua: COMPACT });
    redis.defineCommand('swarmYjsUnlock', { numberOfKeys: 1, lua: UNLOCK });
    this.redis = redis as RedisBackend['redis'] & YjsScripts;
  }

  private get keys(): RedisBackend['keys'] {
    return this.backend.keys;
  }

  private run<T>(kind: 'read' | 'write', call: () => Promise<T>): Promise<T> {
    return this.backend.calls.run(kind, call);
  }

  async snapshot(room: string): Promise<YjsSnapshot> {
    const fields = await this.run('read', () => this.redis.hgetallBuffer(this.keys.yjsSnapshot(room)));
    const offset = fields.offset?.toString();
    if (!offset) return { update: undefined, offset: 0, epoch: '' };
    const parts: Buffer[] = [];
    if (fields.update) {
      // A snapshot written before parts existed: one `update` field (the script that writes
      // parts deletes the whole hash first, so the two layouts never mix).
      parts.push(fields.update);
    } else {
      const count = Number(fields.parts?.toString());
      if (!Number.isSafeInteger(count) || count < 0) {
        throw new Error(`the Yjs snapshot of room "${room}" has no valid part count`);
      }
      for (let i = 0; i < count; i++) {
        const part = fields[`p${i}`];
        if (!part) throw new Error(`the Yjs snapshot of room "${room}" lacks part ${i} of ${count}`);
        parts.push(part);
      }
    }
    // A copy: the parts are views into ioredis's read buffers.
    const update = Buffer.concat(parts);
    return {
      update: new Uint8Array(update.buffer, update.byteOffset, update.byteLength),
      offset: Number(offset),
      epoch: fields.epoch?.toString() ?? '',
    };
  }

  async lock(room: string, ttlMs: number): Promise<string | undefined> {
    const token = randomUUID();
    const ok = await this.run('write', () =>
      this.redis.set(this.keys.yjsLock(room), token, 'PX', ttlMs, 'NX'),
    );
    return ok === 'OK' ? token : undefined;
  }

  async unlock(room: string, token: string): Promise<void> {
    await this.run('write', () => this.redis.swarmYjsUnlock(this.keys.yjsLock(room), token));
  }

  async compact(
    room: string,
    update: Uint8Array,
    offset: number,
    epoch: string,
    token: string,
  ): Promise<boolean> {
    const done = await this.run('write', () =>
      this.redis.swarmYjsCompact(
        this.keys.yjsLock(room),
        this.keys.yjsSnapshot(room),
        this.keys.log(room, 'yjs'),
        this.keys.epoch(room, 'yjs'),
        token,
        offset,
        epoch,
        ...splitParts(update),
      ),
    );
    return done === 1;
  }

  async putAwareness(room: string, entries: readonly AwarenessEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const key = this.keys.awareness(room);
    const fields = entries.flatMap((entry) => [String(entry.client), JSON.stringify(entry)]);
    const nodes = [...new Set(entries.map((entry) => entry.node))];
    // The node's index first (its own slot), the states after: the index is never
    // missing a room where the node has states, so the reaper finds them all.
    await this.run('write', () =>
      Promise.all(nodes.map((node) => this.redis.sadd(this.keys.yjsNodeRooms(node), room))),
    );
    await this.run('write', () =>
      this.redis
        .multi()
        .hset(key, ...fields)
        .pexpire(key, AWARENESS_KEY_TTL_MS)
        .exec(),
    );
  }

  async removeAwareness(room: string, clients: readonly number[]): Promise<void> {
    if (clients.length === 0) return;
    await this.run('write', () => this.redis.hdel(this.keys.awareness(room), ...clients.map(String)));
  }

  async awarenessOf(room: string, clients: readonly number[]): Promise<Map<number, AwarenessEntry>> {
    const found = new Map<number, AwarenessEntry>();
    if (clients.length === 0) return found;
    const values = await this.run('read', () =>
      this.redis.hmget(this.keys.awareness(room), ...clients.map(String)),
    );
    values.forEach((json, i) => {
      if (json) found.set(clients[i]!, JSON.parse(json) as AwarenessEntry);
    });
    return found;
  }

  async listAwareness(room: string, maxAgeMs: number): Promise<AwarenessEntry[]> {
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
      // The members script removes the values of a hash whose JSON `node` is the dead one:
      // awareness entries carry `node` just as members do.
      const values = (await this.run('write', () =>
        this.redis.swarmRemoveNodeMembers(this.keys.awareness(room), node),
      )) as string[];
      const entries = values.map((json) => JSON.parse(json) as AwarenessEntry);
      if (entries.length > 0) removed.push({ room, entries });
    }
    await this.run('write', () => this.redis.del(this.keys.yjsNodeRooms(node)));
    return removed;
  }
}

/** The snapshot's parts, as views of `update` (no copy). */
function splitParts(update: Uint8Array): Buffer[] {
  const parts: Buffer[] = [];
  for (let start = 0; start < update.byteLength; start += SNAPSHOT_PART_BYTES) {
    const length = Math.min(SNAPSHOT_PART_BYTES, update.byteLength - start);
    parts.push(Buffer.from(update.buffer, update.byteOffset + start, length));
  }
  return parts;
}
