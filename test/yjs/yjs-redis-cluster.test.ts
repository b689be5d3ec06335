import { after, before } from 'node:test';
import type { SwarmNode } from '../../src/node';
import { YjsExtension } from '../../src/yjs/yjs-extension';
import { uniquePrefix } from '../helpers/nodes';
import { TestRedisCluster } from '../helpers/redis-cluster';
import { startRedisNode } from '../helpers/redis-nodes';
import { yjsClusterSuite } from './yjs-suite';

let redis: TestRedisCluster;
before(async () => {
  redis = await TestRedisCluster.start();
});
after(async () => {
  await redis?.close();
});

yjsClusterSuite('Redis Cluster', () => {
  const prefix = uniquePrefix('yjs');
  const nodes: SwarmNode[] = [];
  return {
    async start(count, env = {}) {
      const started: SwarmNode[] = [];
      const yjs: YjsExtension[] = [];
      for (let i = 0; i < count; i++) {
        const extension = new YjsExtension();
        const node = await startRedisNode(redis, prefix, { extensions: [extension], env });
        nodes.push(node);
        started.push(node);
        yjs.push(extension);
      }
      return { nodes: started, yjs };
    },
    async stop() {
      await Promise.all(nodes.map((node) => node.close()));
    },
  };
});
