import { SharedMemory } from '../../src/backend/memory/shared-memory';
import type { SwarmNode } from '../../src/node';
import { startAuthNodes } from './auth-helpers';
import { revokeSuite } from './revoke-suite';

revokeSuite('the in-memory bus', async () => {
  const cluster = new SharedMemory(1000);
  const nodes = await startAuthNodes(3, { cluster });
  return {
    nodes,
    async another() {
      const [node] = (await startAuthNodes(1, { cluster })) as [SwarmNode];
      nodes.push(node);
      return node;
    },
    stop: async () => void (await Promise.all(nodes.map((node) => node.close()))),
  };
});
