import { SharedMemory } from '../../src/backend/memory/shared-memory';
import type { SwarmNode } from '../../src/node';
import { clusterSuite } from '../helpers/cluster-suite';
import { startNodes } from '../helpers/nodes';

clusterSuite('the in-memory bus', () => {
  let nodes: SwarmNode[] = [];
  return {
    async start(count, options) {
      nodes = await startNodes(count, { ...options, cluster: new SharedMemory(1000) });
      return nodes;
    },
    async stop() {
      await Promise.all(nodes.map((node) => node.close()));
    },
  };
});
