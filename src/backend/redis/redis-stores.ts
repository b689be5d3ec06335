import type { Position, StreamName } from '../../events/event';
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
    const head = { offset: Number(reply[0]!.toString()), epoch: reply[1]!.toString() };
    const firstId = reply[2];
    const first = firstId ? Number(firstId.toString().split('-')[0]) : head.offset + 1;
    const complete = reachesBack(head, first, after, epoch);
    if (!complete) return { head, events: [], complete };
    const events = reply.slice(3).map(decodeStored);
    return { head, events, complete };
  }
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

  async add(room: string, member: Member): Promise<void> {
    await this.calls.run('write', () =>
      this.redis.swarmAddMember(
        this.keys.members(room),
        this.keys.nodeRooms(member.node),
        // A node with members is always on the reaper's list, even if it never got to beat.
        this.keys.nodeIndex(),
        member.conn,
        JSON.stringify(member),
        room,
        member.node,
      ),
    );
  }

  async remove(room: string, conn: string): Promise<boolean> {
    const removed = await this.calls.run('write', () =>
      this.redis.swarmRemoveMember(this.keys.members(room), conn, room, this.keys.nodePrefix()),
    );
    return removed > 0;
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

  async heartbeat(info: NodeInfo, ttlMs: number): Promise<boolean> {
    const results = await this.calls.run('write', () =>
      this.redis
        .multi()
        .set(this.keys.node(info.id), JSON.stringify(info), 'PX', ttlMs, 'GET')
        .sadd(this.keys.nodeIndex(), info.id)
        .exec(),
    );
    return typeof results?.[0]?.[1] === 'string';
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
   * Every registered node with its heartbeat, or none when it expired. A node joins the
   * index in the same MULTI that sets its heartbeat, so a node in the index without a
   * heartbeat really is gone.
   */
  private async snapshot(): Promise<Array<{ id: string; info: NodeInfo | undefined }>> {
    const ids = await this.calls.run('read', () => this.redis.smembers(this.keys.nodeIndex()));
    if (ids.length === 0) return [];
    // One GET per node in a pipeline rather than MGET: node keys sit on different slots.
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.get(this.keys.node(id));
    const results = (await this.calls.run('read', () => pipeline.exec())) ?? [];
    return ids.map((id, i) => {
      const [err, json] = results[i] ?? [null, null];
      if (err) throw err;
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
