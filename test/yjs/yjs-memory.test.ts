import { SharedMemory } from '../../src/backend/memory/shared-memory';
import { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
import { startNode, uniquePrefix } from '../helpers/nodes';
import { yjsClusterSuite } from './yjs-suite';

yjsClusterSuite('the in-memory bus', () => {
  const cluster = new SharedMemory(1000);
  const nodes: SwarmNode[] = [];
  return {
    async start(count, env = {}) {
      const started: SwarmNode[] = [];
      const yjs: YjsExtension[] = [];
      for (let i = 0; i < count; i++) {
        const extension = new YjsExtension();
        const node = await startNode({
          cluster,
          extensions: [extension],
          env: { NODE_ID: `n${nodes.length + 1}-${uniquePrefix()}`, ...env },
        });
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
