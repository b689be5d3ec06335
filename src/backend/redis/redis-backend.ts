import Redis, { type RedisOptions } from 'ioredis';
import type { Logger } from '../../log';
import type { Backend, BackendMetrics, BackendStatus } from '../backend';
import { RedisKeys } from './keys';
import { describeConnectionError, redactRedisUrl } from './redis-address';
import { RedisAwarenessStore } from './redis-awareness-store';
import { RedisBus } from './redis-bus';
import { RedisCalls } from './redis-calls';
import { RedisDocumentStore } from './redis-document-store';
import { RedisRevocationStore } from './redis-revocation-store';
import { RedisHistory, RedisMembers, RedisNodes, RedisState } from './redis-stores';
import { defineScripts, type ScriptedRedis } from './scripts';

export interface RedisBackendOptions {
  readonly url: string;
  readonly node: string;
  readonly keyPrefix: string;
  readonly historyLimit: number;
  readonly log: Logger;
}

/** Longest wait between reconnect attempts: Redis back means serving again within this. */
const MAX_RETRY_DELAY_MS = 1000;
/** How long start() waits for Redis before the node starts anyway (not ready, retrying). */
const START_WAIT_MS = 3000;
/** A command that gets no answer in this time counts as Redis being unavailable. */
const COMMAND_TIMEOUT_MS = 5000;

/**
 * The cluster backend: every store and the bus on one Redis. Two connections per
 * process: `redis` for commands and scripts, `sub` for pub/sub (a subscribed connection
 * can do nothing else). Both run without an offline queue, so while Redis is away every
 * call fails at once with `unavailable` and the node reports not ready; both reconnect
 * by themselves, and the bus then reads whatever was published meanwhile from history.
 */
export class RedisBackend implements Backend {
  readonly name = 'redis';
  readonly summary = 'cluster backend on Redis';
  readonly redis: ScriptedRedis;
  readonly sub: Redis;
  readonly keys: RedisKeys;
  readonly calls = new RedisCalls(() => this.redis.stream);
  readonly bus: RedisBus;
  readonly history: RedisHistory;
  readonly members: RedisMembers;
  readonly state: RedisState;
  readonly nodes: RedisNodes;
  readonly documents: RedisDocumentStore;
  readonly awareness: RedisAwarenessStore;
  readonly revocations: RedisRevocationStore;

  private readonly listeners: Array<(status: BackendStatus) => void> = [];
  private current: BackendStatus = 'down';
  private closed = false;
  private wasUp = false;
  /** The subscriber is connected and has subscribed every channel again. */
  private subscribed = false;
  /** The last connection error of either connection, for the log lines that say why Redis is away. */
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
    this.redis = defineScripts(
      new Redis(options.url, { ...common, connectionName: `swarmcast:${options.node}:cmd` }),
    );
    // The subscriber waits for messages, not replies: no command timeout on it. It
    // subscribes again itself after a reconnect (see RedisBus.resubscribe).
    this.sub = new Redis(options.url, {
      ...common,
      commandTimeout: undefined,
      autoResubscribe: false,
      connectionName: `swarmcast:${options.node}:sub`,
    });
    this.bus = new RedisBus(options.node, this.redis, this.sub, this.keys, this.calls, options.historyLimit);
    this.history = new RedisHistory(this.redis, this.keys, this.calls);
    this.members = new RedisMembers(this.redis, this.keys, this.calls);
    this.state = new RedisState(this.redis, this.keys, this.calls);
    this.nodes = new RedisNodes(this.redis, this.keys, this.calls);
    this.documents = new RedisDocumentStore(this.redis, this.keys, this.calls);
    this.awareness = new RedisAwarenessStore(this.redis, this.keys, this.calls);
    this.revocations = new RedisRevocationStore(this.redis, this.keys.revocations());
    for (const connection of [this.redis, this.sub]) {
      connection.on('ready', () => this.update());
      connection.on('close', () => this.update());
      // Connection errors are reported through status changes; without a listener ioredis would print them.
      connection.on('error', (err: Error) => {
        this.lastError = err;
        options.log.debug({ err }, 'redis connection error');
      });
    }
    this.sub.on('ready', () => void this.onSubscriberReady());
    this.sub.on('close', () => {
      this.subscribed = false;
      this.update();
    });
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

  /** Connects both connections. A Redis that is down at start is waited for in the background. */
  async start(): Promise<void> {
    const connect = (connection: Redis) =>
      connection.connect().then(
        () => true,
        () => false,
      );
    const connected = await Promise.all([connect(this.redis), connect(this.sub)]);
    if (connected.includes(false)) {
      const redis = redactRedisUrl(this.options.url);
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
    await Promise.all(
      [this.redis, this.sub].map((connection) =>
        connection.quit().catch(() => {
          connection.disconnect();
        }),
      ),
    );
  }

  private async onSubscriberReady(): Promise<void> {
    try {
      await this.bus.resubscribe();
      this.subscribed = true;
      this.update();
    } catch (err) {
      // The connection dropped again; the next 'ready' tries again.
      this.options.log.warn({ err }, 'resubscribe failed');
    }
  }

  private update(): void {
    if (this.closed) return;
    const next: BackendStatus = this.redis.status === 'ready' && this.subscribed ? 'up' : 'down';
    if (next === this.current) return;
    this.current = next;
    if (next === 'down') {
      const redis = redactRedisUrl(this.options.url);
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
