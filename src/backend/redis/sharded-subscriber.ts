import Redis, { type Cluster, type RedisOptions } from 'ioredis';
import type { NatMap } from '../../core/config';
import type { Logger } from '../../core/log';
import { quitWithin } from './quit';
import { slotOwner } from './slot-owner';
import type { Subscriber, SubscriberHooks } from './subscriber';

/** After a failed pass (a master down, a slot in flight), the next one tries again this soon. */
const RETRY_MS = 250;
/**
 * A sharded SSUBSCRIBE answered with MOVED is never settled by ioredis (it only emits
 * `moved`), so every command on a shard connection has a deadline.
 */
const SHARD_COMMAND_TIMEOUT_MS = 2000;
/** ioredis reports a SUNSUBSCRIBE that Redis pushed (the slot left the node) as this error. */
const PUSHED_SUNSUBSCRIBE = /Last reply: sunsubscribe,(.*),\d+$/s;

/**
 * Sharded pub/sub on a Redis Cluster: each channel is subscribed (SSUBSCRIBE) on the
 * master that owns its slot, one connection per such master, so a room's messages cross
 * only its own shard. Where each channel lives follows the cluster client's slot map:
 * after a failover or a resharding the channel is subscribed on its new owner and the
 * backend is told, so the bus reads from history what was published in between.
 *
 * ioredis has a sharded subscriber group of its own (`shardedSubscribers`), but it
 * resubscribes without saying when it is done, and that moment is what the gap read
 * must come after.
 */
export class ShardedSubscriber implements Subscriber {
  readonly publishCommand = 'SPUBLISH' as const;
  private readonly wanted = new Set<string>();
  /** channel -> the master (host:port) it is subscribed on now. */
  private readonly placed = new Map<string, string>();
  /** Channels that were received once and no longer are: subscribing them again needs a gap read. */
  private readonly lost = new Set<string>();
  /** SSUBSCRIBEs on their way, so a pass and a join do not send the same one twice. */
  private readonly pending = new Map<string, Promise<boolean>>();
  private readonly connections = new Map<string, Redis>();
  private pass: Promise<void> | undefined;
  private again = false;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly options: RedisOptions,
    private readonly natMap: NatMap,
    private readonly always: readonly string[],
    private readonly hooks: SubscriberHooks,
    private readonly log: Logger,
  ) {
    for (const channel of always) this.wanted.add(channel);
    // Every slot map refresh (periodic, or after a MOVED) may have moved a channel.
    cluster.on('refresh', () => this.reconcile());
    cluster.on('ready', () => this.reconcile());
  }

  async subscribe(channel: string): Promise<void> {
    this.wanted.add(channel);
    try {
      await this.place(channel);
    } catch (err) {
      // The caller reports `unavailable`; what went wrong is only here.
      this.log.warn({ err, channel }, 'sharded subscribe failed');
      throw err;
    }
  }

  async unsubscribe(channel: string): Promise<void> {
    this.wanted.delete(channel);
    this.lost.delete(channel);
    const at = this.placed.get(channel);
    this.placed.delete(channel);
    const connection = at === undefined ? undefined : this.connections.get(at);
    if (connection?.status === 'ready') await connection.sunsubscribe(channel);
  }

  ready(): boolean {
    return this.always.every((channel) => {
      const at = this.placed.get(channel);
      return at !== undefined && this.connections.get(at)?.status === 'ready';
    });
  }

  async start(): Promise<void> {
    this.reconcile();
    await this.pass;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await Promise.all([...this.connections.values()].map((connection) => quitWithin(connection)));
    this.connections.clear();
  }

  /** Where the cluster client's slot map says `channel` lives, or undefined before it has one. */
  private owner(channel: string): string | undefined {
    return slotOwner(this.cluster, channel, this.natMap);
  }

  /**
   * Subscribes `channel` on its owner unless it is subscribed there already. Resolves
   * with whether it was subscribed again after its messages had stopped arriving.
   */
  private place(channel: string): Promise<boolean> {
    const inFlight = this.pending.get(channel);
    if (inFlight) return inFlight;
    const placing = this.placeOnOwner(channel).finally(() => this.pending.delete(channel));
    this.pending.set(channel, placing);
    return placing;
  }

  private async placeOnOwner(channel: string): Promise<boolean> {
    const owner = this.owner(channel);
    if (owner === undefined) throw new Error(`no master known for channel ${channel}`);
    const before = this.placed.get(channel);
    const connection = this.connection(owner);
    if (before === owner && connection.status === 'ready') return false;
    await connection.ssubscribe(channel);
    if (!this.wanted.has(channel)) {
      // Unsubscribed while this was on its way.
      await connection.sunsubscribe(channel).catch(() => {});
      return false;
    }
    // An old owner dropped the subscription itself: it lost the slot, or it died.
    this.placed.set(channel, owner);
    const wasLost = before !== undefined || this.lost.has(channel);
    this.lost.delete(channel);
    return wasLost;
  }

  private connection(key: string): Redis {
    const existing = this.connections.get(key);
    if (existing) return existing;
    const colon = key.lastIndexOf(':');
    const connection = new Redis({
      ...this.options,
      host: key.slice(0, colon),
      port: Number(key.slice(colon + 1)),
      // Queued until connected, with a deadline: a new owner's connection is opened by
      // the SSUBSCRIBE that needs it.
      enableOfflineQueue: true,
      // The ready check's INFO would be refused on a connection whose queued SSUBSCRIBE
      // went first (ioredis's own sharded subscriber turns it off for the same reason).
      enableReadyCheck: false,
      lazyConnect: false,
      autoResubscribe: false,
      commandTimeout: SHARD_COMMAND_TIMEOUT_MS,
    });
    connection.on('smessageBuffer', (channel: Buffer, message: Buffer) =>
      this.hooks.message(channel, message),
    );
    connection.on('ready', () => this.reconcile());
    connection.on('close', () => {
      for (const [channel, at] of this.placed) {
        if (at !== key) continue;
        this.placed.delete(channel);
        this.lost.add(channel);
      }
      this.hooks.changed();
      this.reconcile();
    });
    connection.on('moved', () => this.cluster.refreshSlotsCache());
    connection.on('error', (err: Error) => {
      const pushed = PUSHED_SUNSUBSCRIBE.exec(err.message);
      if (pushed) {
        // The channel's slot moved to another master: find out where.
        this.placed.delete(pushed[1]!);
        this.lost.add(pushed[1]!);
        this.cluster.refreshSlotsCache();
        this.reconcile();
        return;
      }
      this.log.debug({ err, node: key }, 'redis shard subscriber error');
    });
    this.connections.set(key, connection);
    return connection;
  }

  /** Puts every wanted channel on its owner; passes never overlap, one more runs if asked meanwhile. */
  private reconcile(): void {
    if (this.closed) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    this.pass = this.runPass().finally(() => {
      this.pass = undefined;
      if (this.again) {
        this.again = false;
        this.reconcile();
      }
    });
  }

  private async runPass(): Promise<void> {
    let moved = false;
    let failed = false;
    await Promise.all(
      [...this.wanted].map(async (channel) => {
        try {
          if (await this.place(channel)) moved = true;
        } catch (err) {
          failed = true;
          this.log.debug({ err, channel }, 'sharded subscribe failed; retried');
        }
      }),
    );
    this.dropIdleConnections();
    this.hooks.changed();
    if (moved) this.hooks.resubscribed();
    if (failed && !this.closed) {
      clearTimeout(this.retry);
      this.retry = setTimeout(() => this.reconcile(), RETRY_MS);
      this.retry.unref();
    }
  }

  /** A connection to a node that owns none of the wanted channels (a dead master, a drained one) is closed. */
  private dropIdleConnections(): void {
    const owners = new Set([...this.wanted].map((channel) => this.owner(channel)));
    for (const [key, connection] of this.connections) {
      if (owners.has(key)) continue;
      this.connections.delete(key);
      connection.removeAllListeners();
      connection.on('error', () => {});
      connection.disconnect();
    }
  }
}
