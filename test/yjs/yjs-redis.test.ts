import { after, before } from 'node:test';
import { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
import { uniquePrefix } from '../helpers/nodes';
import { TestRedis } from '../helpers/redis';
import { startRedisNode } from '../helpers/redis-nodes';
import { yjsClusterSuite } from './yjs-suite';

let redis: TestRedis;
before(async () => {
  redis = await TestRedis.start();
});
after(async () => {
  await redis.close();
});

yjsClusterSuite('Redis', () => {
  const prefix = uniquePrefix('yjs');
  const nodes: SwarmNode[] = [];
  return {
    async start(count, env = {}) {
      const started: SwarmNode[] = [];
      const yjs: YjsExtension[] = [];
      for (let i = 0; i < count; i++) {
        const extension = new YjsExtension();
        const node = await startRedisNode(redis.url, prefix, { extensions: [extension], env });
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
