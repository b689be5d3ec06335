import Redis, { Cluster, type RedisOptions } from 'ioredis';
import type { RedisClusterConfig } from '../../core/config';
import type { Logger } from '../../core/log';
import type { Backend, BackendMetrics, BackendStatus } from '../backend';
import { ClassicSubscriber } from './classic-subscriber';
import { RedisKeys } from './keys';
import { quitWithin } from './quit';
import { describeConnectionError, redactRedisUrl } from './redis-address';
import { RedisAwarenessStore } from './redis-awareness-store';
import { type AppendPipeline, RedisBus } from './redis-bus';
import { RedisCalls } from './redis-calls';
import { RedisCopyCoordination } from './redis-copy-coordination';
import { RedisDocumentStore } from './redis-document-store';
import { RedisRevocationStore } from './redis-revocation-store';
import { RedisRoomRestore } from './redis-room-restore';
import { RedisHistory, RedisMembers, RedisNodes, RedisState } from './redis-stores';
import { defineScripts, type ScriptedRedis } from './scripts';
import { ShardedSubscriber } from './sharded-subscriber';
import { ownerConnection } from './slot-owner';
import type { Subscriber, SubscriberHooks } from './subscriber';

/** One Redis (`url`) or a Redis Cluster (`cluster`): exactly one of the two. */
export type RedisTarget =
  | { readonly url: string; readonly cluster?: undefined }
  | { readonly cluster: RedisClusterConfig; readonly url?: undefined };

export type RedisBackendOptions = RedisTarget & {
  readonly node: string;
  readonly keyPrefix: string;
  readonly historyLimit: number;
  /** REDIS_WAIT_REPLICAS: replicas that must hold a room event before it is acknowledged. */
  readonly waitReplicas?: number;
  readonly log: Logger;
};

/** Longest wait between reconnect attempts: Redis back means serving again within this. */
const MAX_RETRY_DELAY_MS = 1000;
/** How long start() waits for Redis before the node starts anyway (not ready, retrying). */
const START_WAIT_MS = 3000;
/** A command that gets no answer in this time counts as Redis being unavailable. */
const COMMAND_TIMEOUT_MS = 5000;
/**
 * How often the cluster client reloads the slot map without being told by a MOVED: a
 * sharded subscription whose slot moved is noticed within this (a publish that hits
 * MOVED reloads it at once).
 */
const SLOTS_REFRESH_MS = 1000;

/**
 * The cluster backend: every store and the bus on one Redis or on a Redis Cluster.
 * `redis` runs commands and scripts (an ioredis `Cluster` routes each by its key's
 * slot); `sub` does pub/sub, classic on one Redis and sharded on a cluster (a subscribed
 * connection can do nothing else). Commands run without an offline queue, so while
 * Redis is away every call fails at once with `unavailable` and the node reports not
 * ready; connections reconnect by themselves, and the bus then reads whatever was
 * published meanwhile from history.
 */
export class RedisBackend implements Backend {
  readonly name = 'redis';
  readonly summary = 'cluster backend on Redis';
  readonly redis: ScriptedRedis;
  readonly sub: Subscriber;
  readonly keys: RedisKeys;
  readonly calls: RedisCalls;
  readonly bus: RedisBus;
  readonly history: RedisHistory;
  readonly members: RedisMembers;
  readonly state: RedisState;
  readonly nodes: RedisNodes;
  readonly documents: RedisDocumentStore;
  readonly awareness: RedisAwarenessStore;
  readonly revocations: RedisRevocationStore;
  readonly copies: RedisCopyCoordination;
  readonly restore: RedisRoomRestore;

  private readonly listeners: Array<(status: BackendStatus) => void> = [];
  private current: BackendStatus = 'down';
  private closed = false;
  private wasUp = false;
  /** The last connection error of any connection, for the log lines that say why Redis is away. */
  private lastError: unknown;

  constructor(private readonly options: RedisBackendOptions) {
    this.keys = new RedisKeys(options.keyPrefix);
    const common: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
      commandTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), MAX_RETRY_DELAY_MS),
    };
    const hooks: SubscriberHooks = {
      message: (channel, message) => this.bus.onMessage(channel, message),
      changed: () => this.update(),
      // Channels that moved shards while the node stayed up: read what they missed.
      resubscribed: () => {
        if (this.current === 'up') this.bus.resync();
      },
    };
    const always = [this.keys.clusterChannel()];
    const name = (role: string) => `swarmcast:${options.node}:${role}`;
    let pipelineFor: (key: string) => AppendPipeline | undefined;
    if (options.cluster) {
      const { cluster } = options;
      const nodeOptions: RedisOptions = {
        ...common,
        // Per node, ioredis opens the connection with the first command sent to it, which
        // needs its queue; the cluster client itself refuses commands while a node is down.
        enableOfflineQueue: true,
        username: cluster.username,
        password: cluster.password,
        // Managed clusters (ElastiCache, MemoryDB) present certificates for their own
        // names; the host name stays as given so TLS checks it.
        tls: cluster.tls ? {} : undefined,
      };
      const client = new Cluster(
        cluster.nodes.map(({ host, port }) => ({ host, port })),
        {
          lazyConnect: true,
          enableOfflineQueue: false,
          slotsRefreshInterval: SLOTS_REFRESH_MS,
          clusterRetryStrategy: common.retryStrategy,
          redisOptions: { ...nodeOptions, connectionName: name('cmd') },
          ...(Object.keys(cluster.natMap).length > 0 ? { natMap: { ...cluster.natMap } } : {}),
          ...(cluster.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
        },
      );
      this.redis = defineScripts(client, 'SPUBLISH');
      // The master's own connection, never the cluster client's pipeline (slot-owner.ts says why).
      pipelineFor = (key) =>
        ownerConnection(client, key, cluster.natMap)?.pipeline() as AppendPipeline | undefined;
      this.calls = new RedisCalls(() => undefined);
      this.sub = new ShardedSubscriber(
        client,
        { ...nodeOptions, commandTimeout: undefined, connectionName: name('sub') },
        cluster.natMap,
        always,
        hooks,
        options.log,
      );
      client.on('ready', () => this.update());
      client.on('close', () => this.update());
      client.on('error', (err: Error) => {
        this.lastError = err;
        options.log.debug({ err }, 'redis cluster error');
      });
    } else {
      const url = options.url;
      const client = new Redis(url, { ...common, connectionName: name('cmd') });
      this.redis = defineScripts(client, 'PUBLISH');
      pipelineFor = () => client.pipeline() as unknown as AppendPipeline;
      this.calls = new RedisCalls(() => client.stream);
      // The subscriber waits for messages, not replies: no command timeout on it. It
      // subscribes again itself after a reconnect.
      const sub = new Redis(url, {
        ...common,
        commandTimeout: undefined,
        autoResubscribe: false,
        connectionName: name('sub'),
      });
      sub.on('error', (err: Error) => {
        this.lastError = err;
        options.log.debug({ err }, 'redis connection error');
      });
      this.sub = new ClassicSubscriber(sub, always, hooks, options.log);
      client.on('ready', () => this.update());
      client.on('close', () => this.update());
      // Connection errors are reported through status changes; without a listener ioredis would print them.
      client.on('error', (err: Error) => {
        this.lastError = err;
        options.log.debug({ err }, 'redis connection error');
      });
    }
    this.bus = new RedisBus(
      options.node,
      this.redis,
      this.sub,
      this.keys,
      this.calls,
      options.historyLimit,
      options.waitReplicas ?? 0,
      pipelineFor,
    );
    this.history = new RedisHistory(this.redis, this.keys, this.calls);
    this.members = new RedisMembers(this.redis, this.keys, this.calls);
    this.state = new RedisState(this.redis, this.keys, this.calls);
    this.nodes = new RedisNodes(this.redis, this.keys, this.calls);
    this.documents = new RedisDocumentStore(this.redis, this.keys, this.calls);
    this.awareness = new RedisAwarenessStore(this.redis, this.keys, this.calls);
    this.revocations = new RedisRevocationStore(this.redis, this.keys.revocations());
    this.copies = new RedisCopyCoordination(this);
    this.restore = new RedisRoomRestore(this);
  }

  /** Where this backend's Redis is, password masked: the URL, or the cluster's seeds. */
  private address(): string {
    if (this.options.url !== undefined) return redactRedisUrl(this.options.url);
    return this.options.cluster.nodes.map(({ host, port }) => `${host}:${port}`).join(',');
  }

  status(): BackendStatus {
    return this.current;
  }

  useMetrics(metrics: BackendMetrics): void {
    this.calls.observer = { observe: (kind, seconds, ok) => metrics.call(kind, seconds, ok) };
  }

  onStatus(listener: (status: BackendStatus) => void): void {
    this.listeners.push(listener);
  }

  /** Connects. A Redis that is down at start is waited for in the background. */
  async start(): Promise<void> {
    const connected = await Promise.all([
      this.redis.connect().then(
        () => true,
        () => false,
      ),
      this.sub.start().then(
        () => true,
        () => false,
      ),
    ]);
    if (connected.includes(false)) {
      const redis = this.address();
      const cause = describeConnectionError(this.lastError ?? 'no answer');
      this.options.log.error(
        { redis, cause },
        `Redis at ${redis} is unreachable (${cause}); retrying in the background, /readyz is 503 until it answers`,
      );
    }
    // Serve only once subscribed too, so the node's first heartbeat and joins find it up.
    if (this.current !== 'up') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, START_WAIT_MS);
        this.onStatus((status) => {
          if (status !== 'up') return;
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([quitWithin(this.redis), this.sub.close()]);
  }

  private update(): void {
    if (this.closed) return;
    const next: BackendStatus = this.redis.status === 'ready' && this.sub.ready() ? 'up' : 'down';
    if (next === this.current) return;
    this.current = next;
    if (next === 'down') {
      const redis = this.address();
      const cause =
        this.lastError === undefined ? 'connection closed' : describeConnectionError(this.lastError);
      this.options.log.warn(
        { redis, cause },
        `Redis connection to ${redis} lost (${cause}); events that need it fail with "unavailable"`,
      );
    } else {
      this.lastError = undefined;
      this.options.log.info('Redis connection up');
      // Both connections are back and every channel is subscribed again: now, and not
      // before, every room stream reads what was published while this node was away.
      if (this.wasUp) this.bus.resync();
      this.wasUp = true;
    }
    for (const listener of this.listeners) listener(next);
  }
}
