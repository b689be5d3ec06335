import type { Backend } from '../../src/backend/backend';
import { MemoryBackend } from '../../src/backend/memory/memory-backend';
import { SharedMemory } from '../../src/backend/memory/shared-memory';
import { RedisKeys } from '../../src/backend/redis/keys';
import { RedisBackend, type RedisTarget } from '../../src/backend/redis/redis-backend';
import { createLogger } from '../../src/core/log';
import { uniquePrefix } from '../helpers/nodes';
import { TestRedis } from '../helpers/redis';
import { TestRedisCluster } from '../helpers/redis-cluster';
import type { BackendFixture, Deployment } from './backend-fixture';

const silent = createLogger('silent', 'backend-contract');

/** The embedded backend: one SharedMemory per deployment. */
export const memoryFixture: BackendFixture = {
  name: 'memory',
  deployment({ historyLimit }) {
    const cluster = new SharedMemory(historyLimit);
    return {
      node: async (id) => new MemoryBackend(id, cluster),
      lose: async (room, stream) => {
        cluster.streams.delete(`${stream}\u0000${room}`);
      },
    };
  },
};

/** What the Redis fixtures differ in: the servers, how a backend reaches them, whether they can be stopped. */
interface RedisServers {
  /** The part of a RedisBackend's options that says where Redis is. */
  readonly where: RedisTarget;
  /** A client of the servers (on a cluster, it routes each key to its slot's master). */
  client(): { del(...keys: string[]): Promise<number>; disconnect(): void };
  /** Stops the servers and resolves with the way to bring them back; absent when not worth it. */
  outage?(): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** The Redis backend on servers `start` brings up once per suite: one key prefix per deployment. */
function redisBackendFixture(name: string, start: () => Promise<RedisServers>): BackendFixture {
  let servers: RedisServers | undefined;
  return {
    name,
    evictsColdRooms: true,
    async setUp() {
      servers = await start();
    },
    async tearDown() {
      await servers?.close();
    },
    deployment({ historyLimit }): Deployment {
      const on = servers;
      if (!on) throw new Error(`the ${name} fixture is not set up`);
      const keyPrefix = uniquePrefix('contract');
      const outage = on.outage;
      return {
        async node(id): Promise<Backend> {
          const backend = new RedisBackend({ ...on.where, node: id, keyPrefix, historyLimit, log: silent });
          await backend.start();
          return backend;
        },
        ...(outage ? { outage: () => outage() } : {}),
        async lose(room, stream) {
          const keys = new RedisKeys(keyPrefix);
          const client = on.client();
          try {
            // One hash tag: one slot, so one DEL on a cluster too.
            await client.del(keys.log(room, stream), keys.seq(room, stream), keys.epoch(room, stream));
          } finally {
            client.disconnect();
          }
        },
      };
    },
  };
}

/** The Redis backend on a private redis-server. */
export function redisFixture(): BackendFixture {
  return redisBackendFixture('Redis', async () => {
    const redis = await TestRedis.start();
    return {
      where: { url: redis.url },
      client: () => redis.client(),
      async outage() {
        await redis.stop();
        return () => redis.resume();
      },
      close: () => redis.close(),
    };
  });
}

/**
 * The Redis backend on a private Redis Cluster (three masters, three replicas). No
 * `outage`: taking a whole cluster away is the one-Redis case; what a cluster adds (a
 * master's failover, a moved slot) has its own tests (test/cluster/redis-cluster-faults.test.ts).
 */
export function redisClusterFixture(): BackendFixture {
  return redisBackendFixture('Redis Cluster', async () => {
    const cluster = await TestRedisCluster.start();
    return {
      where: { cluster: cluster.config },
      client: () => cluster.client(),
      close: () => cluster.close(),
    };
  });
}
