import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { uniquePrefix } from '../helpers/nodes';
import { TestPostgres } from '../helpers/postgres';
import { type NodeProcess, spawnNode } from '../helpers/process';
import { freePort, TestRedis } from '../helpers/redis';
import { TestRedisCluster } from '../helpers/redis-cluster';
import { TcpProxy } from '../helpers/tcp-proxy';
import { within } from '../helpers/wait';

export type RedisMode = 'single' | 'cluster';

export interface StackOptions {
  readonly redis: RedisMode;
  readonly nodes: number;
  /** The script each node runs: `dist/src/main.js`, or the fault-injecting entry. */
  readonly entry?: string;
  /** Added to every node's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * The settings every node of the run gets. Short heartbeats so that a killed node's
 * members are cleaned up within seconds (the run has many kills), a history long enough
 * for a reader away for a few seconds to resume, and quick persistence so the database
 * check at the end does not wait long.
 */
const NODE_ENV: Readonly<Record<string, string>> = {
  LOG_LEVEL: 'info',
  AUTH_DISABLED: 'true',
  HEARTBEAT_MS: '500',
  NODE_TTL_MS: '2000',
  DRAIN_TIMEOUT_MS: '3000',
  HISTORY_LIMIT: '20000',
  STORAGE: 'postgres',
  PERSIST_DELAY_MS: '200',
  PERSIST_MAX_WAIT_MS: '1000',
};

/** What a fault does to a link: slow it, cut it, or put it back. */
export interface Link {
  slow(ms: number): void;
  down(): void;
  resume(): void;
  close(): Promise<void>;
}

/**
 * A node's links to a Redis: one proxy to the one Redis, or one per node of a Redis Cluster
 * (the node reaches each through its own, by REDIS_CLUSTER_NAT_MAP), faulted together.
 */
export class RedisLink implements Link {
  private constructor(readonly proxies: ReadonlyMap<number, TcpProxy>) {}

  static async start(ports: readonly number[]): Promise<RedisLink> {
    const proxies = new Map<number, TcpProxy>();
    for (const port of ports) proxies.set(port, await TcpProxy.start([port]));
    return new RedisLink(proxies);
  }

  /** The proxy's port for the Redis on `port`. */
  portFor(port: number): number {
    return this.proxies.get(port)!.port;
  }

  slow(ms: number): void {
    for (const proxy of this.proxies.values()) proxy.slow(ms);
  }

  down(): void {
    for (const proxy of this.proxies.values()) proxy.down();
  }

  resume(): void {
    for (const proxy of this.proxies.values()) proxy.resume();
  }

  async close(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((proxy) => proxy.close()));
  }
}

/**
 * One node's place in the run: a client port that stays the same across restarts (so
 * clients find it again, as behind a load balancer), and its own TCP proxies to Redis
 * and to the database, which the faults slow down or cut.
 */
export class NodeSlot {
  proc: NodeProcess | undefined;
  private incarnation = 0;
  /** Exits nobody asked for (a crash), with the last lines the process wrote. */
  readonly crashes: string[] = [];
  /** Set while a fault has stopped the node on purpose. */
  stopping = false;
  /** Set when the run ends: a fault's pending restart must not start a node nobody stops. */
  private closed = false;
  /** The largest heap the node reported. */
  maxHeapBytes = 0;

  constructor(
    readonly index: number,
    readonly port: number,
    readonly redisLink: RedisLink,
    readonly dbLink: TcpProxy,
    private readonly env: () => Record<string, string>,
    private readonly entry: string | undefined,
  ) {}

  get name(): string {
    return `n${this.index + 1}`;
  }

  get eventsUrl(): string {
    return `ws://127.0.0.1:${this.port}/events`;
  }

  get yjsUrl(): string {
    return `ws://127.0.0.1:${this.port}/yjs`;
  }

  /**
   * Starts the node, retrying while it cannot (a node refuses to start while the
   * database is down, exit 2): a supervisor restarting a task does the same.
   */
  start(deadlineMs = 60_000): Promise<void> {
    if (this.proc || this.closed) return Promise.resolve();
    this.starting ??= this.launch(deadlineMs).finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private starting: Promise<void> | undefined;

  /** With CHAOS_NODE_LOGS=dir, each incarnation's output goes to `dir/<name>-<n>.log` too. */
  private keepLog(proc: NodeProcess): void {
    const dir = process.env.CHAOS_NODE_LOGS;
    if (!dir) return;
    const file = createWriteStream(path.join(dir, `${this.name}-${this.incarnation}.log`));
    file.write(`${proc.lines.join('\n')}\n`);
    proc.proc.stdout?.pipe(file, { end: false });
    proc.proc.stderr?.pipe(file, { end: false });
    void proc.exited.then(() => file.end());
  }

  private async launch(deadlineMs: number): Promise<void> {
    const until = Date.now() + deadlineMs;
    for (;;) {
      this.incarnation++;
      try {
        const proc = await spawnNode(
          { ...this.env(), PORT: String(this.port), NODE_ID: `${this.name}-${this.incarnation}` },
          15_000,
          this.entry,
        );
        if (this.closed) {
          proc.kill('SIGKILL');
          return;
        }
        this.proc = proc;
        this.stopping = false;
        this.keepLog(proc);
        void proc.exited.then(() => {
          if (this.proc !== proc) return;
          this.proc = undefined;
          if (!this.stopping) {
            this.crashes.push(proc.lines.slice(-20).join('\n'));
            void this.start().catch(() => {});
          }
        });
        return;
      } catch (err) {
        if (this.closed) return;
        if (Date.now() > until) throw err;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /** Stops the node for good: no restart, by a fault or after a crash, starts it again. */
  close(): Promise<void> {
    this.closed = true;
    return this.stop('SIGKILL');
  }

  /** Stops the node with `signal` (it is not restarted); resolves when the process is gone. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    this.stopping = true;
    await this.starting?.catch(() => {});
    const proc = this.proc;
    if (!proc) return;
    this.stopping = true;
    proc.kill(signal);
    await within(proc.exited, `node ${this.name} to exit on ${signal}`, 15_000).catch(() => {
      proc.kill('SIGKILL');
      return proc.exited;
    });
    this.proc = undefined;
  }

  /** The node's heap now (from /metrics), remembered if it is the largest yet. */
  async sampleHeap(): Promise<void> {
    if (!this.proc) return;
    try {
      const res = await fetch(`http://127.0.0.1:${this.port}/metrics`, { signal: AbortSignal.timeout(2000) });
      const text = await res.text();
      const match = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})?\s+(\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
      if (match) this.maxHeapBytes = Math.max(this.maxHeapBytes, Number(match[1]));
    } catch {
      // A node that is down or busy right now is sampled next time.
    }
  }
}

/**
 * Everything a chaos run starts on this machine: a private Redis (one with AOF, or a
 * cluster of three masters and three replicas), a private PostgreSQL, and the nodes,
 * each behind its own proxies. `close` stops all of it.
 */
export class ChaosStack {
  readonly slots: NodeSlot[] = [];
  redis: TestRedis | undefined;
  cluster: TestRedisCluster | undefined;
  pg: TestPostgres | undefined;
  databaseUrl = '';
  readonly prefix = uniquePrefix('chaos');

  private constructor(readonly options: StackOptions) {}

  static async start(options: StackOptions): Promise<ChaosStack> {
    const stack = new ChaosStack(options);
    try {
      await stack.launch();
    } catch (err) {
      await stack.close();
      throw err;
    }
    return stack;
  }

  /**
   * A node's Redis variables: its own proxy to the one Redis; or, for a cluster, its own
   * proxies as seeds, and the NAT map that sends it through them to every address the
   * cluster announces (the cluster's nodes announce their real ports).
   */
  private redisEnv(slot: number): Record<string, string> {
    const link = this.slots[slot]!.redisLink;
    if (this.cluster) {
      const ports = this.cluster.ports;
      return {
        REDIS_CLUSTER_NODES: ports.map((port) => `127.0.0.1:${link.portFor(port)}`).join(','),
        REDIS_CLUSTER_NAT_MAP: ports
          .map((port) => `127.0.0.1:${port}=127.0.0.1:${link.portFor(port)}`)
          .join(','),
        REDIS_WAIT_REPLICAS: '1',
      };
    }
    return { REDIS_URL: `redis://127.0.0.1:${link.portFor(this.redis!.port)}` };
  }

  private async launch(): Promise<void> {
    if (this.options.redis === 'cluster') this.cluster = await TestRedisCluster.start();
    else this.redis = await TestRedis.start();
    this.pg = await TestPostgres.start();
    this.databaseUrl = await this.pg.database();
    for (let i = 0; i < this.options.nodes; i++) {
      const redisLink = await RedisLink.start(this.cluster ? this.cluster.ports : [this.redis!.port]);
      const dbLink = await TcpProxy.start([this.pg.port]);
      const url = new URL(this.databaseUrl);
      url.port = String(dbLink.port);
      const slot = new NodeSlot(
        i,
        await freePort(),
        redisLink,
        dbLink,
        () => ({
          ...NODE_ENV,
          KEY_PREFIX: this.prefix,
          DATABASE_URL: url.toString(),
          ...this.redisEnv(i),
          ...this.options.env,
        }),
        this.options.entry,
      );
      this.slots.push(slot);
    }
    // One at a time: the first creates the schema, the others find it.
    for (const slot of this.slots) await slot.start();
  }

  /** A client of the database itself, not through any node's proxy. */
  async query<R extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
    const client = new Client({ connectionString: this.databaseUrl, connectionTimeoutMillis: 3000 });
    client.on('error', () => {});
    await client.connect();
    try {
      return (await client.query<R>(sql, params)).rows;
    } finally {
      await client.end().catch(() => {});
    }
  }

  async close(): Promise<void> {
    for (const slot of this.slots) {
      await slot.close().catch(() => {});
      await slot.redisLink.close();
      await slot.dbLink.close();
    }
    await this.redis?.close().catch(() => {});
    await this.cluster?.close().catch(() => {});
    await this.pg?.close().catch(() => {});
  }
}

export const FAULTY_ENTRY = path.join(__dirname, 'faulty-node.js');
