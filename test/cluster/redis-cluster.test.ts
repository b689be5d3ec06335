import { after, before } from 'node:test';
import type { SwarmNode } from '../../src/node';
import { clusterSuite } from '../helpers/cluster-suite';
import { TestRedis } from '../helpers/redis';
import { startRedisNodes } from '../helpers/redis-nodes';

let redis: TestRedis;
before(async () => {
  redis = await TestRedis.start();
});
after(async () => {
  await redis.close();
});

clusterSuite('Redis', () => {
  let nodes: SwarmNode[] = [];
  return {
    async start(count, options) {
      nodes = await startRedisNodes(count, redis.url, options);
      return nodes;
    },
    async stop() {
      await Promise.all(nodes.map((node) => node.close()));
    },
  };
});
