import { after, before } from 'node:test';
import type { SwarmNode } from '../../src/node';
import { clusterSuite } from '../helpers/cluster-suite';
import { TestRedisCluster } from '../helpers/redis-cluster';
import { startRedisNodes } from '../helpers/redis-nodes';

let redis: TestRedisCluster;
before(async () => {
  redis = await TestRedisCluster.start();
});
after(async () => {
  await redis?.close();
});

clusterSuite('Redis Cluster (three masters, three replicas)', () => {
  let nodes: SwarmNode[] = [];
  return {
    async start(count, options) {
      nodes = await startRedisNodes(count, redis, options);
      return nodes;
    },
    async stop() {
      await Promise.all(nodes.map((node) => node.close()));
    },
  };
});
