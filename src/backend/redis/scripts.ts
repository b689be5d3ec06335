import type { Cluster, Redis } from 'ioredis';

/** A command connection: one Redis, or a Redis Cluster client (same commands, routed by key). */
export type RedisClient = Redis | Cluster;

/**
 * The Lua scripts swarmcast runs in Redis (docs/redis.md explains each). A script runs
 * atomically, which is the point: an event's offset, its history entry and its
 * PUBLISH happen in one step, so no node can see one without the other.
 */

/**
 * Keys past their window one idempotent append drops: more than the one it adds, so the
 * set shrinks back to one window's keys after a burst, and few enough to keep the script
 * short (each is a ZREM and an HDEL).
 */
const IDS_PURGE = 8;

/**
 * Append to a room stream and publish, in one step. `publish` is PUBLISH on one Redis and
 * SPUBLISH on a Redis Cluster, where the room channel carries the room's hash tag and so
 * lives on the same shard as the keys.
 * KEYS: 1 log (stream), 2 seq, 3 epoch, 4 ids (hash), 5 ids:until (sorted set).
 * ARGV: 1 the envelope header JSON without its closing brace, 2 the binary body (may be
 * empty), 3 MAXLEN (0: uncapped), 4 a fresh epoch id, 5 the room channel, 6 the
 * idempotency key ('' for none), 7 the answer to keep with it ('' for none), 8 the
 * idempotency window in ms.
 *
 * The epoch is created with the stream. If it is missing while a sequence exists, the
 * room's keys were lost or flushed: the stream restarts at offset 1 under the new epoch,
 * and members who held the old epoch are told to resync (room.reset); the remembered ids
 * go with the old epoch. Returns {offset, epoch}.
 *
 * With a key: a key remembered and not past its window is a repeat: nothing is appended
 * or published, and the script returns {offset, epoch, 1, answer} of the first append.
 * Otherwise the append remembers the key until now + window (Redis's clock, one for every
 * node). Each such append drops up to IDS_PURGE keys past their window, more than it
 * adds, and gives both keys the window as their TTL, so a quiet room's ids leave by
 * themselves.
 */
export const appendPublish = (publish: 'PUBLISH' | 'SPUBLISH') => `
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[4]
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[4], KEYS[5])
  redis.call('SET', KEYS[3], epoch)
end
local key = ARGV[6]
local now = 0
if key ~= '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local old = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, ${IDS_PURGE})
  if #old > 0 then
    redis.call('ZREM', KEYS[5], unpack(old))
    redis.call('HDEL', KEYS[4], unpack(old))
  end
  local seen = redis.call('HGET', KEYS[4], key)
  if seen then
    local expires = tonumber(redis.call('ZSCORE', KEYS[5], key) or '0')
    local o, e, a = string.match(seen, '^(%d+) (%S+) ?(.*)$')
    if expires > now and e == epoch then return {tonumber(o), e, 1, a} end
  end
end
local offset = redis.call('INCR', KEYS[2])
local header = ARGV[1] .. ',"offset":' .. offset .. ',"epoch":"' .. epoch .. '"}'
local message = struct.pack('>I4', #header) .. header .. ARGV[2]
local maxlen = tonumber(ARGV[3])
if maxlen > 0 then
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, offset .. '-0', 'e', message)
else
  redis.call('XADD', KEYS[1], offset .. '-0', 'e', message)
end
redis.call('${publish}', ARGV[5], message)
if key ~= '' then
  local window = tonumber(ARGV[8])
  redis.call('HSET', KEYS[4], key, offset .. ' ' .. epoch .. ' ' .. ARGV[7])
  redis.call('ZADD', KEYS[5], now + window, key)
  redis.call('PEXPIRE', KEYS[4], window)
  redis.call('PEXPIRE', KEYS[5], window)
end
return {offset, epoch}
`;

/**
 * Read a stream's head and the entries after an offset, consistently.
 * KEYS: 1 log, 2 seq, 3 epoch. ARGV: 1 first offset wanted, 2 COUNT.
 * Returns {seq, epoch, first id in the stream or false, entries...}.
 */
export const READ_RANGE = `
local seq = redis.call('GET', KEYS[2]) or '0'
local epoch = redis.call('GET', KEYS[3]) or ''
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local firstId = false
if first[1] then firstId = first[1][1] end
local entries = redis.call('XRANGE', KEYS[1], ARGV[1] .. '-0', '+', 'COUNT', ARGV[2])
local out = {seq, epoch, firstId}
for i = 1, #entries do out[#out + 1] = entries[i][2][2] end
return out
`;

/**
 * Add a member to a room. KEYS: 1 members hash. ARGV: 1 conn, 2 member JSON. Returns 1
 * when the member is new, 0 when it was there already. The node's room index is counted
 * up before this runs (docs/redis.md: it sits on another slot).
 */
export const ADD_MEMBER = `
return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
`;

/**
 * Remove a member from a room. KEYS: 1 members hash. ARGV: 1 conn. Returns the member's
 * JSON, or false if it was not there, so the caller counts down the right node's index.
 */
export const REMOVE_MEMBER = `
local json = redis.call('HGET', KEYS[1], ARGV[1])
if not json then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
return json
`;

/**
 * Count a room down in a node's room index, dropping it at zero.
 * KEYS: 1 the node's room index (hash room -> count). ARGV: 1 room.
 */
export const UNCOUNT_ROOM = `
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
`;

/**
 * Remove every entry a dead node had in one room's hash, returning them: the hash's
 * values are JSON objects with a `node` field (room members, and awareness states).
 * KEYS: 1 the hash. ARGV: 1 node id.
 */
export const REMOVE_NODE_MEMBERS = `
local all = redis.call('HGETALL', KEYS[1])
local removed = {}
for i = 1, #all, 2 do
  local member = cjson.decode(all[i + 1])
  if member.node == ARGV[1] then
    redis.call('HDEL', KEYS[1], all[i])
    removed[#removed + 1] = all[i + 1]
  end
end
return removed
`;

/** The append script's reply: {offset, epoch} for an append, {offset, epoch, 1, answer} for a repeat. */
export type AppendReply = [number, string] | [number, string, 1, string];

/** The scripts as commands on an ioredis client (defined by `defineScripts`; EVALSHA with EVAL fallback). */
export interface SwarmScripts {
  swarmAppendPublish(
    log: string,
    seq: string,
    epoch: string,
    ids: string,
    idsUntil: string,
    header: Buffer,
    body: Buffer,
    maxlen: number,
    freshEpoch: string,
    channel: string,
    key: string,
    answer: string,
    windowMs: number,
  ): Promise<AppendReply>;
  swarmReadRangeBuffer(
    log: string,
    seq: string,
    epoch: string,
    first: number,
    count: number,
  ): Promise<Array<Buffer | null>>;
  swarmRemoveNodeMembers(members: string, node: string): Promise<string[]>;
  swarmAddMember(members: string, conn: string, json: string): Promise<number>;
  swarmRemoveMember(members: string, conn: string): Promise<string | null>;
  swarmUncountRoom(index: string, room: string): Promise<number>;
}

/** How many of the append script's arguments are keys. */
export const APPEND_KEYS = 5;

export type ScriptedRedis = RedisClient & SwarmScripts;

export function defineScripts(redis: RedisClient, publish: 'PUBLISH' | 'SPUBLISH'): ScriptedRedis {
  redis.defineCommand('swarmAppendPublish', { numberOfKeys: APPEND_KEYS, lua: appendPublish(publish) });
  redis.defineCommand('swarmReadRange', { numberOfKeys: 3, lua: READ_RANGE });
  redis.defineCommand('swarmRemoveNodeMembers', { numberOfKeys: 1, lua: REMOVE_NODE_MEMBERS });
  redis.defineCommand('swarmAddMember', { numberOfKeys: 1, lua: ADD_MEMBER });
  redis.defineCommand('swarmRemoveMember', { numberOfKeys: 1, lua: REMOVE_MEMBER });
  redis.defineCommand('swarmUncountRoom', { numberOfKeys: 1, lua: UNCOUNT_ROOM });
  return redis as ScriptedRedis;
}
