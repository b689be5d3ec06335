import type { Position, StreamName } from '../../core/events/event';
import type {
  HistoryRead,
  HistoryStore,
  Member,
  MemberStore,
  NodeInfo,
  NodeRegistry,
  StateStore,
} from '../backend';
import { decodeStored } from '../envelope';
import { reachesBack } from '../history-reach';
import type { RedisKeys } from './keys';
import type { RedisCalls } from './redis-calls';
import type { ScriptedRedis } from './scripts';

/** Room stream history: the Redis stream each room stream is appended to by the bus's script. */
export class RedisHistory implements HistoryStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
    private readonly calls: RedisCalls,
  ) {}

  async head(room: string, stream: StreamName): Promise<Position> {
    const [seq, epoch] = await this.calls.run('read', () =>
      this.redis.mget(this.keys.seq(room, stream), this.keys.epoch(room, stream)),
    );
    return { offset: Number(seq ?? 0), epoch: epoch ?? '' };
  }

  async read(
    room: string,
    stream: StreamName,
    after: number,
    epoch?: string,
    limit = 1000,
  ): Promise<HistoryRead> {
    const reply = (await this.calls.run('read', () =>
      this.redis.swarmReadRangeBuffer(
        this.keys.log(room, stream),
        this.keys.seq(room, stream),
        this.keys.epoch(room, stream),
        after + 1,
        limit,
      ),
    )) as Buffer[];
    return historyFromReply(reply, after, epoch);
  }
}

/**
 * A history read from the reply of the read-range script (or of a script that ends the
 * same way): {seq, epoch, first id in the stream or nil, entries...}.
 */
export function historyFromReply(reply: Array<Buffer | null>, after: number, epoch?: string): HistoryRead {
  const [seq, headEpoch] = Array.isArray(reply) ? reply : [];
  // A reply of another shape is another command's (a client that lost track of its
  // replies): taken for a head it would tell members to reset to positions not the room's.
  if (!Buffer.isBuffer(seq) || !Buffer.isBuffer(headEpoch) || !/^\d+$/.test(seq.toString())) {
    throw new Error('a history read got a reply that is not a stream head');
  }
  const head = { offset: Number(seq.toString()), epoch: headEpoch.toString() };
  const firstId = reply[2];
  const first = firstId ? Number(firstId.toString().split('-')[0]) : head.offset + 1;
  const complete = reachesBack(head, first, after, epoch);
  if (!complete) return { head, events: [], complete };
  const events = (reply.slice(3) as Buffer[]).map(decodeStored);
  return { head, events, complete };
}

/**
 * Room members on every node: one hash per room (conn -> member JSON), and per node the
 * set of rooms it has members in, so the survivors can find a dead node's members.
 */
export class RedisMembers implements MemberStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
    private readonly calls: RedisCalls,
  ) {}

  /**
   * Three steps on up to three slots (the room's, the node's index, the node set), in an
   * order that keeps the index a superset of where the node has members: the room is
   * counted in the index before the member is written, so a reaper that reads the index
   * never misses a member (docs/redis.md gives the argument).
   */
  async add(room: string, member: Member): Promise<void> {
    const index = this.keys.nodeRooms(member.node);
    await this.calls.run('write', () =>
      Promise.all([
        // A node with members is always on the reaper's list, even if it never got to beat.
        this.redis.sadd(this.keys.nodeIndex(), member.node),
        this.redis.hincrby(index, room, 1),
      ]),
    );
    const added = await this.calls.run('write', () =>
      this.redis.swarmAddMember(this.keys.members(room), member.conn, JSON.stringify(member)),
    );
    // Already a member: its count was there, take back the one just added.
    if (added === 0) await this.calls.run('write', () => this.redis.swarmUncountRoom(index, room));
  }

  /** The member goes first, the index count after: a crash in between leaves the index too large, never too small. */
  async remove(room: string, conn: string): Promise<boolean> {
    const json = await this.calls.run('write', () =>
      this.redis.swarmRemoveMember(this.keys.members(room), conn),
    );
    if (json === null) return false;
    const { node } = JSON.parse(json) as Member;
    await this.calls.run('write', () => this.redis.swarmUncountRoom(this.keys.nodeRooms(node), room));
    return true;
  }

  async list(room: string): Promise<Member[]> {
    const all = await this.calls.run('read', () => this.redis.hvals(this.keys.members(room)));
    return all.map((json) => JSON.parse(json) as Member);
  }

  async removeNode(node: string): Promise<Array<{ room: string; member: Member }>> {
    const rooms = await this.calls.run('read', () => this.redis.hkeys(this.keys.nodeRooms(node)));
    const removed: Array<{ room: string; member: Member }> = [];
    for (const room of rooms) {
      const members = (await this.calls.run('write', () =>
        this.redis.swarmRemoveNodeMembers(this.keys.members(room), node),
      )) as string[];
      for (const json of members) removed.push({ room, member: JSON.parse(json) as Member });
    }
    await this.calls.run('write', () => this.redis.del(this.keys.nodeRooms(node)));
    return removed;
  }
}

/** Room key/value state: one hash per room, values as JSON. */
export class RedisState implements StateStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
    private readonly calls: RedisCalls,
  ) {}

  async get(room: string, key: string): Promise<unknown> {
    const json = await this.calls.run('read', () => this.redis.hget(this.keys.state(room), key));
    return json === null ? undefined : JSON.parse(json);
  }

  async set(room: string, key: string, value: unknown): Promise<void> {
    await this.calls.run('write', () =>
      value === null
        ? this.redis.hdel(this.keys.state(room), key)
        : this.redis.hset(this.keys.state(room), key, JSON.stringify(value)),
    );
  }

  async all(room: string): Promise<Record<string, unknown>> {
    const all = await this.calls.run('read', () => this.redis.hgetall(this.keys.state(room)));
    return Object.fromEntries(Object.entries(all).map(([key, json]) => [key, JSON.parse(json)]));
  }
}

/** The node registry: a heartbeat key per node that expires, and the set of every node id seen. */
export class RedisNodes implements NodeRegistry {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
    private readonly calls: RedisCalls,
  ) {}

  /**
   * The heartbeat first, then the node set: they sit on different slots, and in this
   * order a node id is in the set only once its heartbeat has been written, so a node in
   * the set without a heartbeat really is gone.
   */
  async heartbeat(info: NodeInfo, ttlMs: number): Promise<boolean> {
    const previous = await this.calls.run('write', () =>
      this.redis.set(this.keys.node(info.id), JSON.stringify(info), 'PX', ttlMs, 'GET'),
    );
    await this.calls.run('write', () => this.redis.sadd(this.keys.nodeIndex(), info.id));
    return typeof previous === 'string';
  }

  async live(): Promise<NodeInfo[]> {
    const registry = await this.snapshot();
    return registry.flatMap(({ info }) => (info ? [info] : []));
  }

  async dead(): Promise<string[]> {
    const registry = await this.snapshot();
    return registry.flatMap(({ id, info }) => (info ? [] : [id]));
  }

  /**
   * Every registered node with its heartbeat, or none when it expired. The set is read
   * before the heartbeats, and a node enters the set only after its first heartbeat
   * (see heartbeat), so a node that is just registering is never taken for dead.
   */
  private async snapshot(): Promise<Array<{ id: string; info: NodeInfo | undefined }>> {
    const ids = await this.calls.run('read', () => this.redis.smembers(this.keys.nodeIndex()));
    if (ids.length === 0) return [];
    // One GET per node rather than MGET: node keys sit on different slots. Sent in one
    // tick, they leave together (one write per connection).
    const values = await this.calls.run('read', () =>
      Promise.all(ids.map((id) => this.redis.get(this.keys.node(id)))),
    );
    return ids.map((id, i) => {
      const json = values[i];
      return { id, info: typeof json === 'string' ? (JSON.parse(json) as NodeInfo) : undefined };
    });
  }

  async remove(node: string): Promise<void> {
    await this.calls.run('write', () => this.redis.del(this.keys.node(node)));
    // A node that left cleanly leaves the index too, or every survivor's reaper would
    // take it for one that died. One that still has members listed (a leave failed while
    // Redis was away) stays, so that a survivor reaps and announces them.
    const rooms = await this.calls.run('read', () => this.redis.exists(this.keys.nodeRooms(node)));
    if (rooms === 0) await this.calls.run('write', () => this.redis.srem(this.keys.nodeIndex(), node));
  }

  async claim(node: string, ttlMs: number): Promise<boolean> {
    const ok = await this.calls.run('write', () =>
      this.redis.set(this.keys.reaperLock(node), '1', 'PX', ttlMs, 'NX'),
    );
    return ok === 'OK';
  }

  async forget(node: string): Promise<void> {
    await this.calls.run('write', () => this.redis.srem(this.keys.nodeIndex(), node));
  }
}
