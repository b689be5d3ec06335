import { randomUUID } from 'node:crypto';
import {
  DOCUMENT_STREAM,
  type DocumentSnapshot,
  type DocumentStore,
  type SnapshotWithTail,
} from '../document-store';
import type { RedisKeys } from './keys';
import type { RedisCalls } from './redis-calls';
import { historyFromReply } from './redis-stores';
import type { ScriptedRedis } from './scripts';

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

/**
 * The stream entries after the snapshot's offset, with the offset and epoch of the snapshot
 * they follow: sent in the same write as the snapshot's HGETALL, so that a document read
 * (every join) waits for one round trip, not two. The snapshot itself never passes through
 * Lua (a 1 MB snapshot copied through a script cost Redis more than the round trip saves).
 * KEYS: 1 snapshot hash, 2 yjs stream, 3 its seq, 4 its epoch. ARGV: 1 COUNT.
 * Returns {snapshot offset or false, snapshot epoch or false, then what READ_RANGE returns
 * for the entries after that offset: seq, epoch, first id or false, entries...}.
 */
const READ_TAIL = `
local snapshot = redis.call('HMGET', KEYS[1], 'offset', 'epoch')
local after = tonumber(snapshot[1] or '0') or 0
local seq = redis.call('GET', KEYS[3]) or '0'
local epoch = redis.call('GET', KEYS[4]) or ''
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
local firstId = false
if first[1] then firstId = first[1][1] end
local entries = redis.call('XRANGE', KEYS[2], string.format('%d', after + 1) .. '-0', '+', 'COUNT', ARGV[1])
local out = {snapshot[1] or false, snapshot[2] or false, seq, epoch, firstId}
for i = 1, #entries do out[#out + 1] = entries[i][2][2] end
return out
`;

/** Release a lock only if this token still holds it. KEYS: 1 lock. ARGV: 1 token. */
const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

interface DocumentScripts {
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
  swarmYjsReadTailBuffer(
    snapshot: string,
    log: string,
    seq: string,
    epochKey: string,
    count: number,
  ): Promise<Array<Buffer | null>>;
}

/**
 * The DocumentStore on the cluster's Redis (docs/redis.md and docs/yjs.md list the keys):
 * per room a snapshot hash and a lock, under the room's hash tag with its document
 * stream, so the compaction script touches one slot.
 */
/**
 * How long a snapshot this node just wrote back from the database is kept for the reads
 * that follow (the opener's join), and how many such rooms at most: a reopen then reads
 * its document once, from the database, not once more from Redis.
 */
const RESTORED_KEEP_MS = 10_000;
const RESTORED_ROOMS = 8;

export class RedisDocumentStore implements DocumentStore {
  private readonly redis: ScriptedRedis & DocumentScripts;
  private readonly restored = new Map<string, { snapshot: DocumentSnapshot; until: number }>();

  constructor(
    redis: ScriptedRedis,
    private readonly keys: RedisKeys,
    private readonly calls: RedisCalls,
  ) {
    redis.defineCommand('swarmYjsCompact', { numberOfKeys: 4, lua: COMPACT });
    redis.defineCommand('swarmYjsUnlock', { numberOfKeys: 1, lua: UNLOCK });
    redis.defineCommand('swarmYjsReadTail', { numberOfKeys: 4, lua: READ_TAIL });
    this.redis = redis as ScriptedRedis & DocumentScripts;
  }

  private run<T>(kind: 'read' | 'write', call: () => Promise<T>): Promise<T> {
    return this.calls.run(kind, call);
  }

  /** Keeps `snapshot`, which this node just wrote back for `room`, for the next reads (see RESTORED_KEEP_MS). */
  restoredSnapshot(room: string, snapshot: DocumentSnapshot): void {
    this.restored.delete(room);
    this.restored.set(room, { snapshot, until: Date.now() + RESTORED_KEEP_MS });
    for (const oldest of this.restored.keys()) {
      if (this.restored.size <= RESTORED_ROOMS) break;
      this.restored.delete(oldest);
    }
  }

  async snapshot(room: string): Promise<DocumentSnapshot> {
    const kept = this.restored.get(room);
    if (kept && kept.until > Date.now()) {
      // Still the snapshot Redis holds if its offset and epoch are (a compaction never
      // writes one offset twice): two small fields read instead of the whole document.
      const [offset, epoch] = await this.run('read', () =>
        this.redis.hmget(this.keys.yjsSnapshot(room), 'offset', 'epoch'),
      );
      if (offset === String(kept.snapshot.offset) && (epoch ?? '') === kept.snapshot.epoch)
        return kept.snapshot;
    }
    this.restored.delete(room);
    const fields = await this.run('read', () => this.redis.hgetallBuffer(this.keys.yjsSnapshot(room)));
    return snapshotFromFields(room, fields);
  }

  /**
   * The snapshot's HGETALL and the tail script leave in one write (RedisCalls holds the
   * tick's commands together) and come back together. They are two commands, so a
   * compaction may run between them: the script says which snapshot its entries follow,
   * and when that is not the snapshot read (offset and epoch name one: a compaction
   * never writes one offset twice), this answers undefined and the caller reads the two
   * one after the other. Undefined too while a snapshot this node wrote back is kept
   * (`snapshot` then checks two small fields instead of reading the whole document).
   */
  async snapshotWithTail(room: string, limit: number): Promise<SnapshotWithTail | undefined> {
    const kept = this.restored.get(room);
    if (kept && kept.until > Date.now()) return undefined;
    this.restored.delete(room);
    const key = this.keys.yjsSnapshot(room);
    const [fields, reply] = await Promise.all([
      this.run('read', () => this.redis.hgetallBuffer(key)),
      this.run('read', () =>
        this.redis.swarmYjsReadTailBuffer(
          key,
          this.keys.log(room, DOCUMENT_STREAM),
          this.keys.seq(room, DOCUMENT_STREAM),
          this.keys.epoch(room, DOCUMENT_STREAM),
          limit,
        ),
      ),
    ]);
    const snapshot = snapshotFromFields(room, fields);
    const [offset, epoch, ...range] = reply;
    const follows =
      Number(offset?.toString() ?? 0) === snapshot.offset && (epoch?.toString() ?? '') === snapshot.epoch;
    if (!follows) return undefined;
    return { snapshot, tail: historyFromReply(range, snapshot.offset, snapshot.epoch || undefined) };
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
        this.keys.log(room, DOCUMENT_STREAM),
        this.keys.epoch(room, DOCUMENT_STREAM),
        token,
        offset,
        epoch,
        ...splitParts(update),
      ),
    );
    return done === 1;
  }
}

/** A snapshot from its hash's fields (HGETALL); throws on a hash that is not a whole snapshot. */
function snapshotFromFields(room: string, fields: Record<string, Buffer | undefined>): DocumentSnapshot {
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

/** The snapshot's parts, as views of `update` (no copy). */
function splitParts(update: Uint8Array): Buffer[] {
  const parts: Buffer[] = [];
  for (let start = 0; start < update.byteLength; start += SNAPSHOT_PART_BYTES) {
    const length = Math.min(SNAPSHOT_PART_BYTES, update.byteLength - start);
    parts.push(Buffer.from(update.buffer, update.byteOffset + start, length));
  }
  return parts;
}
