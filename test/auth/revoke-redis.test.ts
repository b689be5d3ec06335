import { after, before } from 'node:test';
import { AuthExtension } from '../../src/modules/auth/auth-extension';
import { handlers } from '../../src/modules/handlers';
import type { SwarmNode } from '../../src/node';
import { uniquePrefix } from '../helpers/nodes';
import { TestRedis } from '../helpers/redis';
import { startRedisNode } from '../helpers/redis-nodes';
import { SECRET } from './auth-helpers';
import { revokeSuite } from './revoke-suite';

let redis: TestRedis;
before(async () => {
  redis = await TestRedis.start();
});
after(async () => {
  await redis.close();
});

revokeSuite('Redis', async () => {
  const prefix = uniquePrefix('revoke');
  const nodes: SwarmNode[] = [];
  const another = async () => {
    const node = await startRedisNode(redis.url, prefix, {
      handlers,
      env: { AUTH_JWT_SECRET: SECRET },
      extensions: [new AuthExtension()],
    });
    nodes.push(node);
    return node;
  };
  for (let i = 0; i < 3; i++) await another();
  return { nodes, another, stop: async () => void (await Promise.all(nodes.map((node) => node.close()))) };
});
