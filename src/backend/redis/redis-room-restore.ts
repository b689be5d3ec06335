import { randomUUID } from 'node:crypto';
import type { StreamName } from '../../core/events/event';
import { DOCUMENT_STREAM } from '../document-store';
import { encodeEnvelope } from '../envelope';
import type { RoomRestore } from '../room-restore';
import { copiedOf, NOT_COPIED, type StoredRoom } from '../storage/document-store';
import type { RedisDocumentStore } from './redis-document-store';
import { SNAPSHOT_PART_BYTES } from './redis-document-store';
import type { ScriptedRedis } from './scripts';
import type { RedisStoreParts } from './store-parts';
import type { Subscriber } from './subscriber';

/** Restoring also needs the subscriber's kind (whose subscribers count) and the document store's cache. */
interface RestoreParts extends RedisStoreParts {
  readonly sub: Pick<Subscriber, 'publishCommand'>;
  readonly documents: RedisDocumentStore;
}

/**
 * Load a room back, in one step. KEYS: 1 loaded marker, 2 yjs seq, 3 yjs epoch, 4 state
 * hash, 5 yjs snapshot hash, then per event stream its log, seq and epoch. ARGV: 1 yjs
 * offset, 2 yjs epoch, 3 state pairs, 4 snapshot parts, 5 event streams, then per stream
 * its offset (0: not stored), epoch and number of entries; then the state's key/JSON
 * pairs, the snapshot's parts, and per stream, per entry, its offset and envelope. A room
 * with live stream keys (any stream's epoch) is only marked: what Redis holds is newer
 * than the database. Returns 1 when it wrote the room back.
 */
const RESTORE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], '1')
local streams = tonumber(ARGV[5])
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
for s = 0, streams - 1 do
  if redis.call('EXISTS', KEYS[8 + 3 * s]) == 1 then return 0 end
end
local states, parts = tonumber(ARGV[3]), tonumber(ARGV[4])
local i = 6 + 3 * streams
for _ = 1, states do
  redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1])
  i = i + 2
end
if parts > 0 then
  redis.call('SET', KEYS[2], ARGV[1])
  redis.call('SET', KEYS[3], ARGV[2])
  redis.call('DEL', KEYS[5])
  redis.call('HSET', KEYS[5], 'offset', ARGV[1], 'epoch', ARGV[2], 'parts', parts)
  for p = 0, parts - 1 do
    redis.call('HSET', KEYS[5], 'p' .. p, ARGV[i])
    i = i + 1
  end
end
for s = 0, streams - 1 do
  local offset, entries = ARGV[6 + 3 * s], tonumber(ARGV[8 + 3 * s])
  if tonumber(offset) > 0 then
    redis.call('SET', KEYS[7 + 3 * s], offset)
    redis.call('SET', KEYS[8 + 3 * s], ARGV[7 + 3 * s])
  end
  for _ = 1, entries do
    redis.call('XADD', KEYS[6 + 3 * s], ARGV[i] .. '-0', 'e', ARGV[i + 1])
    i = i + 2
  end
end
return 1
`;

/**
 * Remove a cold room, in one step, only if no node serves it and it is all copied.
 * KEYS: 1 members, 2 the copied record (a hash stream -> `<offset>|<epoch>`), 3 the copy
 * lock (kept: it is its holder's), then per stream compared its seq and epoch, then the
 * room's other keys. ARGV: 1 the room channel, 2 'force' to remove it even if not all
 * copied (a delete), 3 how the channel's subscribers are counted, 4 how many streams are
 * compared, then their names. A room whose copy is running is kept: that copy records
 * what it copied (and re-enters the room in the index) after the check, which would leave
 * a record no eviction ever matches. Subscribers are counted with NUMSUB on one Redis,
 * SHARDNUMSUB on a cluster, where room channels are sharded (SSUBSCRIBE) on the master
 * that owns the room's slot: the master this script runs on, since the channel carries
 * the room's hash tag. Returns 1 when removed. The room's remembered ids (one key each)
 * are left to expire: the room comes back with its offsets and epoch, so a resend after
 * that still finds the offset it points at.
 * A node subscribes to the channel before it reads a room, so a room some node is
 * opening is never removed under it.
 */
const EVICT = `
if redis.call('HLEN', KEYS[1]) > 0 then return 0 end
if redis.call('PUBSUB', ARGV[3], ARGV[1])[2] > 0 then return 0 end
local streams = tonumber(ARGV[4])
if ARGV[2] ~= 'force' then
  for i = 1, streams do
    local now = (redis.call('GET', KEYS[2 + 2 * i]) or '0') .. '|' .. (redis.call('GET', KEYS[3 + 2 * i]) or '')
    if now ~= (redis.call('HGET', KEYS[2], ARGV[4 + i]) or '0|') then return 0 end
  end
  if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
end
redis.call('DEL', KEYS[1], KEYS[2], unpack(KEYS, 4))
return 1
`;

const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

interface RestoreScripts {
  swarmStorageRestore(...args: Array<string | Buffer | number>): Promise<number>;
  swarmStorageLoadUnlock(lock: string, token: string): Promise<number>;
  swarmStorageEvict(...args: string[]): Promise<number>;
}

/** Loading rooms back into the cluster's Redis; the marker and load lock sit under the room's hash tag. */
export class RedisRoomRestore implements RoomRestore {
  private readonly redis: ScriptedRedis & RestoreScripts;

  constructor(private readonly backend: RestoreParts) {
    backend.redis.defineCommand('swarmStorageRestore', { lua: RESTORE });
    backend.redis.defineCommand('swarmStorageLoadUnlock', { numberOfKeys: 1, lua: UNLOCK });
    backend.redis.defineCommand('swarmStorageEvict', { lua: EVICT });
    this.redis = backend.redis as ScriptedRedis & RestoreScripts;
  }

  roomKey(room: string, what: 'loaded' | 'loading'): string {
    return `${this.backend.keys.prefix}:room:${this.backend.keys.tag(room)}:storage:${what}`;
  }

  async isLoaded(room: string): Promise<boolean> {
    return (
      (await this.backend.calls.run('read', () => this.redis.exists(this.roomKey(room, 'loaded')))) === 1
    );
  }

  async lock(room: string, ttlMs: number): Promise<string | undefined> {
    const token = randomUUID();
    const ok = await this.backend.calls.run('write', () =>
      this.redis.set(this.roomKey(room, 'loading'), token, 'PX', ttlMs, 'NX'),
    );
    return ok === 'OK' ? token : undefined;
  }

  async unlock(room: string, token: string): Promise<void> {
    await this.backend.calls.run('write', () =>
      this.redis.swarmStorageLoadUnlock(this.roomKey(room, 'loading'), token),
    );
  }

  async evict(room: string, streams: readonly StreamName[], force = false): Promise<boolean> {
    const keys = this.backend.keys;
    const positions = `${keys.prefix}:room:${keys.tag(room)}:storage:positions`;
    // The streams recorded as copied too: a stream the node's events no longer declare
    // may still be in Redis (loaded back from the database).
    const recorded = await this.backend.calls.run('read', () => this.redis.hkeys(positions));
    const compared = [...new Set([...streams, ...recorded, DOCUMENT_STREAM])];
    const roomKeys = [
      keys.members(room),
      positions,
      `${keys.prefix}:room:${keys.tag(room)}:storage:lock`,
      ...compared.flatMap((stream) => [keys.seq(room, stream), keys.epoch(room, stream)]),
      ...compared.map((stream) => keys.log(room, stream)),
      // What swarmcast before schema version 2 recorded as copied (a string).
      `${keys.prefix}:room:${keys.tag(room)}:storage:copied`,
      keys.state(room),
      keys.yjsSnapshot(room),
      keys.awareness(room),
      this.roomKey(room, 'loaded'),
    ];
    const removed = await this.backend.calls.run('write', () =>
      this.redis.swarmStorageEvict(
        String(roomKeys.length),
        ...roomKeys,
        keys.roomChannel(room),
        force ? 'force' : '',
        this.backend.sub.publishCommand === 'SPUBLISH' ? 'SHARDNUMSUB' : 'NUMSUB',
        String(compared.length),
        ...compared,
      ),
    );
    return removed === 1;
  }

  async restore(
    room: string,
    stored: StoredRoom | undefined,
    streams: readonly StreamName[],
  ): Promise<boolean> {
    const keys = this.backend.keys;
    const yjs = stored?.progress.yjs ?? NOT_COPIED;
    const state = Object.entries(stored?.state ?? {});
    const update = stored?.document && yjs.offset > 0 ? Buffer.from(stored.document.update) : undefined;
    const parts: Buffer[] = [];
    if (update) {
      for (let at = 0; at < update.length; at += SNAPSHOT_PART_BYTES) {
        parts.push(update.subarray(at, at + SNAPSHOT_PART_BYTES));
      }
      if (parts.length === 0) parts.push(Buffer.alloc(0));
    }
    // Every stored stream is written back; the declared ones are only checked for live keys.
    const all = [
      ...new Set(
        [...Object.keys(stored?.progress.streams ?? {}), ...streams].filter((s) => s !== DOCUMENT_STREAM),
      ),
    ];
    const written = all.map((stream) => {
      const position = stored ? copiedOf(stored.progress, stream) : NOT_COPIED;
      const recent = position.offset > 0 ? (stored?.recent[stream] ?? []) : [];
      return { stream, position, recent };
    });
    const args: Array<string | Buffer | number> = [
      5 + 3 * all.length,
      this.roomKey(room, 'loaded'),
      keys.seq(room, DOCUMENT_STREAM),
      keys.epoch(room, DOCUMENT_STREAM),
      keys.state(room),
      keys.yjsSnapshot(room),
      ...all.flatMap((stream) => [keys.log(room, stream), keys.seq(room, stream), keys.epoch(room, stream)]),
      yjs.offset,
      yjs.epoch,
      state.length,
      parts.length,
      all.length,
      ...written.flatMap(({ position, recent }) => [position.offset, position.epoch, recent.length]),
      ...state.flatMap(([key, value]) => [key, JSON.stringify(value)]),
      ...parts,
      ...written.flatMap(({ stream, position, recent }) =>
        recent.flatMap((event) => [
          event.offset,
          encodeEnvelope({ ...event, room, stream, epoch: position.epoch }),
        ]),
      ),
    ];
    const wrote = await this.backend.calls.run('write', () => this.redis.swarmStorageRestore(...args));
    if (wrote === 1 && update) {
      this.backend.documents.restoredSnapshot(room, {
        update: new Uint8Array(update),
        offset: yjs.offset,
        epoch: yjs.epoch,
      });
    }
    return wrote === 1;
  }
}
