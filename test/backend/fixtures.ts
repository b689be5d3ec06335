import { MemoryBackend } from '../../src/backend/memory/memory-backend';
import { SharedMemory } from '../../src/backend/memory/shared-memory';
import { RedisKeys } from '../../src/backend/redis/keys';
import { RedisBackend } from '../../src/backend/redis/redis-backend';
import { createLogger } from '../../src/core/log';
import { uniquePrefix } from '../helpers/nodes';
import { TestRedis } from '../helpers/redis';
import { TestRedisCluster } from '../helpers/redis-cluster';
import type { BackendFixture } from './backend-fixture';

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

/** The Redis backend on a private redis-server: one key prefix per deployment. */
export function redisFixture(): BackendFixture {
  let redis: TestRedis | undefined;
  return {
    name: 'Redis',
    evictsColdRooms: true,
    async setUp() {
      redis = await TestRedis.start();
    },
    async tearDown() {
      await redis?.close();
    },
    deployment({ historyLimit }) {
      const server = redis;
      if (!server) throw new Error('the Redis fixture is not set up');
      const keyPrefix = uniquePrefix('contract');
      return {
        async node(id) {
          const backend = new RedisBackend({
            url: server.url,
            node: id,
            keyPrefix,
            historyLimit,
            log: silent,
          });
          await backend.start();
          return backend;
        },
        async outage() {
          await server.stop();
          return () => server.resume();
        },
        async lose(room, stream) {
          const keys = new RedisKeys(keyPrefix);
          const client = server.client();
          try {
            await client.del(keys.log(room, stream), keys.seq(room, stream), keys.epoch(room, stream));
          } finally {
            client.disconnect();
          }
        },
      };
    },
  };
}

/**
 * The Redis backend on a private Redis Cluster (three masters, three replicas): one key
 * prefix per deployment. No `outage`: taking a whole cluster away is the one-Redis case;
 * what a cluster adds (a master's failover, a moved slot) has its own tests
 * (test/cluster/redis-cluster-faults.test.ts).
 */
export function redisClusterFixture(): BackendFixture {
  let cluster: TestRedisCluster | undefined;
  return {
    name: 'Redis Cluster',
    evictsColdRooms: true,
    async setUp() {
      cluster = await TestRedisCluster.start();
    },
    async tearDown() {
      await cluster?.close();
    },
    deployment({ historyLimit }) {
      const servers = cluster;
      if (!servers) throw new Error('the Redis Cluster fixture is not set up');
      const keyPrefix = uniquePrefix('contract');
      return {
        async node(id) {
          const backend = new RedisBackend({
            cluster: servers.config,
            node: id,
            keyPrefix,
            historyLimit,
            log: silent,
          });
          await backend.start();
          return backend;
        },
        async lose(room, stream) {
          const keys = new RedisKeys(keyPrefix);
          const client = servers.client();
          try {
            // One hash tag: one slot, so one DEL.
            await client.del(keys.log(room, stream), keys.seq(room, stream), keys.epoch(room, stream));
          } finally {
            client.disconnect();
          }
        },
      };
    },
  };
}
