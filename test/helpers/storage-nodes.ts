import type { Extension } from '../../src/host';
import type { SwarmNode } from '../../src/node';
import { StorageExtension } from '../../src/storage/storage-extension';
import { YjsExtension } from '../../src/yjs/yjs-extension';
import { uniquePrefix } from './nodes';
import { TestPostgres } from './postgres';
import { TestRedis } from './redis';
import { TestRedisCluster } from './redis-cluster';
import { type RedisUnderTest, startRedisNode } from './redis-nodes';

export interface StorageNodesOptions {
  /** Added to every node's environment (PERSIST_DELAY_MS, ROOM_IDLE_MS...). */
  readonly env?: Record<string, string>;
  /** Whether the nodes serve Yjs too; true unless said. */
  readonly yjs?: boolean;
  /** A database of this testbed's PostgreSQL for the nodes; a fresh one unless given. */
  readonly databaseUrl?: string;
}

/** Nodes on one key prefix and one database, with the storage extension each has. */
export interface StorageNodes {
  readonly nodes: SwarmNode[];
  readonly storage: StorageExtension[];
  readonly prefix: string;
  readonly databaseUrl: string;
}

/**
 * What every storage test of a cluster stands on: a private Redis (or Redis Cluster) and
 * a private PostgreSQL (or TEST_DATABASE_URL), started once per file, and nodes with the
 * storage tier on, each test's on its own key prefix and its own database.
 */
export class StorageTestbed {
  private started: SwarmNode[] = [];

  private constructor(
    readonly redis: TestRedis | TestRedisCluster,
    readonly postgres: TestPostgres,
  ) {}

  static async start(options: { readonly cluster?: boolean } = {}): Promise<StorageTestbed> {
    const [redis, postgres] = await Promise.all([
      options.cluster ? TestRedisCluster.start() : TestRedis.start(),
      TestPostgres.start(),
    ]);
    return new StorageTestbed(redis, postgres);
  }

  /** What the nodes are pointed at: one Redis's URL, or the cluster. */
  get target(): RedisUnderTest {
    return this.redis instanceof TestRedisCluster ? this.redis : this.redis.url;
  }

  /** The URL of the one Redis (tests that flush it, or hand it to a node process). */
  get redisUrl(): string {
    if (this.redis instanceof TestRedisCluster) throw new Error('this testbed runs a Redis Cluster');
    return this.redis.url;
  }

  /** Starts `count` nodes sharing a fresh key prefix and database (or those of `more`). */
  async nodes(count: number, options: StorageNodesOptions = {}, more?: StorageNodes): Promise<StorageNodes> {
    const databaseUrl = more?.databaseUrl ?? options.databaseUrl ?? (await this.postgres.database());
    const prefix = more?.prefix ?? uniquePrefix('st');
    const nodes: SwarmNode[] = [];
    const storage: StorageExtension[] = [];
    for (let i = 0; i < count; i++) {
      const extension = new StorageExtension();
      const extensions: Extension[] = options.yjs === false ? [extension] : [extension, new YjsExtension()];
      const node = await startRedisNode(this.target, prefix, {
        env: { DATABASE_URL: databaseUrl, ...options.env },
        extensions,
      });
      nodes.push(node);
      storage.push(extension);
      this.started.push(node);
    }
    return { nodes, storage, prefix, databaseUrl };
  }

  /** Closes one node (a stop in the middle of a test). */
  async stop(node: SwarmNode): Promise<void> {
    const at = this.started.indexOf(node);
    if (at === -1) return;
    this.started.splice(at, 1);
    await node.close();
  }

  /** Closes every node this testbed started and has not closed yet. */
  async stopNodes(): Promise<void> {
    const nodes = this.started.splice(0);
    for (const node of nodes) await node.close();
  }

  async close(): Promise<void> {
    await this.stopNodes();
    await this.redis.close();
    await this.postgres.close();
  }
}
