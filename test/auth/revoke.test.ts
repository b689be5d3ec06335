import { startAuthNodes } from './auth-helpers';
import { revokeSuite } from './revoke-suite';

revokeSuite('the in-memory bus', async () => {
  const nodes = await startAuthNodes(3);
  return { nodes, stop: async () => void (await Promise.all(nodes.map((node) => node.close()))) };
});
