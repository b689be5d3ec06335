import { randomUUID } from 'node:crypto';
import type { StoredRoom } from '../../storage/document-store';
import { encodeEnvelope } from '../envelope';
import type { RoomRestore } from '../room-restore';
import type { RedisBackend } from './redis-backend';
import { SNAPSHOT_PART_BYTES } from './redis-document-store';

/**
 * Load a room back, in one step. KEYS: 1 loaded marker, 2 events log, 3 events seq,
 * 4 events epoch, 5 yjs seq, 6 yjs epoch, 7 state hash, 8 yjs snapshot hash.
 * ARGV: 1 events offset, 2 events epoch, 3 yjs offset, 4 yjs epoch, 5 state pairs,
 * 6 snapshot parts, 7 events, then the state's key/JSON pairs, the snapshot's parts, and
 * per event its offset and envelope. A room with live stream keys is only marked: what
 * Redis holds is newer than the database. Returns 1 when it wrote the room back.
 */
const RESTORE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], '1')
if redis.call('EXISTS', KEYS[4]) == 1 or redis.call('EXISTS', KEYS[6]) == 1 then return 0 end
local states, parts, events = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local i = 8
if tonumber(ARGV[1]) > 0 then
  redis.call('SET', KEYS[3], ARGV[1])
  redis.call('SET', KEYS[4], ARGV[2])
end
for _ = 1, states do
  redis.call('HSET', KEYS[7], ARGV[i], ARGV[i + 1])
  i = i + 2
end
if parts > 0 then
  redis.call('SET', KEYS[5], ARGV[3])
  redis.call('SET', KEYS[6], ARGV[4])
  redis.call('DEL', KEYS[8])
  redis.call('HSET', KEYS[8], 'offset', ARGV[3], 'epoch', ARGV[4], 'parts', parts)
  for p = 0, parts - 1 do
    redis.call('HSET', KEYS[8], 'p' .. p, ARGV[i])
    i = i + 1
  end
end
for _ = 1, events do
  redis.call('XADD', KEYS[2], ARGV[i] .. '-0', 'e', ARGV[i + 1])
  i = i + 2
end
return 1
`;

/**
 * Remove a cold room, in one step, only if no node serves it and it is all copied.
 * KEYS: 1 members, 2 events seq, 3 events epoch, 4 yjs seq, 5 yjs epoch, 6 the copied
 * record, 7 the remembered ids, 8.. the room's other keys. ARGV: 1 the room channel, 2
 * 'force' to remove it even if not all copied (a delete). Returns 1 when removed.
 * A room that still remembers an id stays until the id's window has passed (the key's
 * TTL), so that a client resending after a long outage is still answered with the first
 * offset rather than stored again.
 * A node subscribes to the channel before it reads a room, so a room some node is
 * opening is never removed under it.
 */
const EVICT = `
if redis.call('HLEN', KEYS[1]) > 0 then return 0 end
if redis.call('PUBSUB', 'NUMSUB', ARGV[1])[2] > 0 then return 0 end
local now = (redis.call('GET', KEYS[2]) or '0') .. '|' .. (redis.call('GET', KEYS[3]) or '') .. '|'
  .. (redis.call('GET', KEYS[4]) or '0') .. '|' .. (redis.call('GET', KEYS[5]) or '')
if ARGV[2] ~= 'force' and now ~= (redis.call('GET', KEYS[6]) or '0||0|') then return 0 end
if ARGV[2] ~= 'force' and redis.call('EXISTS', KEYS[7]) == 1 then return 0 end
redis.call('DEL', unpack(KEYS))
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
  private readonly redis: RedisBackend['redis'] & RestoreScripts;

  constructor(private readonly backend: RedisBackend) {
    backend.redis.defineCommand('swarmStorageRestore', { numberOfKeys: 8, lua: RESTORE });
    backend.redis.defineCommand('swarmStorageLoadUnlock', { numberOfKeys: 1, lua: UNLOCK });
    backend.redis.defineCommand('swarmStorageEvict', { lua: EVICT });
    this.redis = backend.redis as RedisBackend['redis'] & RestoreScripts;
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

  async evict(room: string, force = false): Promise<boolean> {
    const keys = this.backend.keys;
    const roomKeys = [
      keys.members(room),
      keys.seq(room, 'events'),
      keys.epoch(room, 'events'),
      keys.seq(room, 'yjs'),
      keys.epoch(room, 'yjs'),
      `${keys.prefix}:room:${keys.tag(room)}:storage:copied`,
      keys.ids(room, 'events'),
      keys.log(room, 'events'),
      keys.log(room, 'yjs'),
      keys.state(room),
      keys.yjsSnapshot(room),
      keys.awareness(room),
      keys.idsUntil(room, 'events'),
      this.roomKey(room, 'loaded'),
    ];
    const removed = await this.backend.calls.run('write', () =>
      this.redis.swarmStorageEvict(
        String(roomKeys.length),
        ...roomKeys,
        keys.roomChannel(room),
        force ? 'force' : '',
      ),
    );
    return removed === 1;
  }

  async restore(room: string, stored: StoredRoom | undefined): Promise<boolean> {
    const keys = this.backend.keys;
    const events = stored?.progress.events ?? { offset: 0, epoch: '' };
    const yjs = stored?.progress.yjs ?? { offset: 0, epoch: '' };
    const state = Object.entries(stored?.state ?? {});
    const update = stored?.document && yjs.offset > 0 ? Buffer.from(stored.document.update) : undefined;
    const parts: Buffer[] = [];
    if (update) {
      for (let at = 0; at < update.length; at += SNAPSHOT_PART_BYTES) {
        parts.push(update.subarray(at, at + SNAPSHOT_PART_BYTES));
      }
      if (parts.length === 0) parts.push(Buffer.alloc(0));
    }
    const recent = events.offset > 0 ? (stored?.recent ?? []) : [];
    const args: Array<string | Buffer | number> = [
      this.roomKey(room, 'loaded'),
      keys.log(room, 'events'),
      keys.seq(room, 'events'),
      keys.epoch(room, 'events'),
      keys.seq(room, 'yjs'),
      keys.epoch(room, 'yjs'),
      keys.state(room),
      keys.yjsSnapshot(room),
      events.offset,
      events.epoch,
      yjs.offset,
      yjs.epoch,
      state.length,
      parts.length,
      recent.length,
      ...state.flatMap(([key, value]) => [key, JSON.stringify(value)]),
      ...parts,
      ...recent.flatMap((event) => [
        event.offset,
        encodeEnvelope({ ...event, room, stream: 'events', epoch: events.epoch }),
      ]),
    ];
    const wrote = await this.backend.calls.run('write', () => this.redis.swarmStorageRestore(...args));
    return wrote === 1;
  }
}
