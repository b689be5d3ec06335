import type { Extension } from '../../src/core/host';
import { StorageExtension } from '../../src/modules/storage/storage-extension';
import { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
import type { YjsFixture } from '../yjs/yjs-suite';
import type { ClusterFixture } from './cluster-suite';
import { type TestNodeOptions, uniquePrefix } from './nodes';
import { TestPostgres } from './postgres';
import { TestRedis } from './redis';
import { TestRedisCluster } from './redis-cluster';
import { type RedisUnderTest, startRedisNode } from './redis-nodes';
import { waitFor } from './wait';

/**
 * How a whole suite (cluster, Yjs) runs with the storage tier on: what is appended is
 * copied within 30 ms, and a room nobody has been in for 300 ms leaves Redis, so rooms
 * are evicted and loaded back while the suite runs.
 */
export const SUITE_STORAGE_ENV: Readonly<Record<string, string>> = {
  PERSIST_DELAY_MS: '30',
  PERSIST_MAX_WAIT_MS: '200',
  ROOM_IDLE_MS: '300',
};

export interface StorageNodesOptions {
  /** Added to every node's environment (PERSIST_DELAY_MS, ROOM_IDLE_MS...). */
  readonly env?: Record<string, string>;
  /** Whether the nodes serve Yjs too; true unless said. */
  readonly yjs?: boolean;
  /** The rest of a test node's options (handlers, extensions besides storage and Yjs...). */
  readonly node?: TestNodeOptions;
  /** A database of this testbed's PostgreSQL for the nodes; a fresh one unless given. */
  readonly databaseUrl?: string;
}

/** Nodes on one key prefix and one database, with the storage extension each has. */
export interface StorageNodes {
  readonly nodes: SwarmNode[];
  readonly storage: StorageExtension[];
  /** Each node's Yjs extension; empty when the nodes do not serve Yjs. */
  readonly yjs: YjsExtension[];
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
    const yjs: YjsExtension[] = [];
    for (let i = 0; i < count; i++) {
      const extension = new StorageExtension();
      const extensions: Extension[] = [extension, ...(options.node?.extensions ?? [])];
      if (options.yjs !== false) {
        const served = new YjsExtension();
        yjs.push(served);
        extensions.push(served);
      }
      const node = await startRedisNode(this.target, prefix, {
        ...options.node,
        env: { DATABASE_URL: databaseUrl, ...options.node?.env, ...options.env },
        extensions,
      });
      nodes.push(node);
      storage.push(extension);
      this.started.push(node);
    }
    return { nodes, storage, yjs, prefix, databaseUrl };
  }

  /** A storage counter or gauge summed over the nodes this testbed has running. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    let sum = 0;
    for (const node of this.started) {
      const metric = await node.metrics.registry.getSingleMetric(name)?.get();
      for (const value of metric?.values ?? []) {
        if (Object.entries(labels).every(([k, v]) => value.labels[k] === v)) sum += value.value;
      }
    }
    return sum;
  }

  /**
   * For a suite run with storage on, before its nodes stop: waits until every room is
   * copied and some cold room has left Redis, and fails if a copy ever failed. Without
   * it a suite could pass with the storage tier idle.
   */
  async expectStorageWorked(): Promise<void> {
    await waitFor(
      async () => (await this.metric('swarmcast_storage_rooms_pending')) === 0,
      'every room copied to PostgreSQL',
      15_000,
    );
    await waitFor(
      async () => (await this.metric('swarmcast_storage_rooms_evicted_total')) > 0,
      'a cold room to leave Redis',
      15_000,
    );
    const failed = await this.metric('swarmcast_storage_copies_total', { result: 'failed' });
    if (failed > 0) throw new Error(`${failed} copies to PostgreSQL failed`);
    if ((await this.metric('swarmcast_storage_copies_total', { result: 'ok' })) === 0) {
      throw new Error('no room was copied to PostgreSQL');
    }
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

/** The three-node suite's fixture (test/helpers/cluster-suite.ts) on `testbed`, storage on. */
export function storageClusterFixture(testbed: () => StorageTestbed): ClusterFixture {
  return {
    async start(count, options) {
      return (await testbed().nodes(count, { env: SUITE_STORAGE_ENV, node: options, yjs: false })).nodes;
    },
    async stop() {
      try {
        await testbed().expectStorageWorked();
      } finally {
        await testbed().stopNodes();
      }
    },
  };
}

/** The Yjs suite's fixture (test/yjs/yjs-suite.ts) on `testbed`, storage on: later starts join the first nodes. */
export function storageYjsFixture(testbed: () => StorageTestbed): YjsFixture {
  let first: StorageNodes | undefined;
  return {
    async start(count, env = {}) {
      const started = await testbed().nodes(count, { env: { ...SUITE_STORAGE_ENV, ...env } }, first);
      first ??= started;
      return { nodes: started.nodes, yjs: started.yjs };
    },
    async stop() {
      try {
        await testbed().expectStorageWorked();
      } finally {
        await testbed().stopNodes();
      }
    },
  };
}
