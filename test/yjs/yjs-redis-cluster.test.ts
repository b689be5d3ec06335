import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisKeys } from '../../src/backend/redis/keys';
import { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
import { uniquePrefix } from '../helpers/nodes';
import { TestRedisCluster } from '../helpers/redis-cluster';
import { startRedisNode } from '../helpers/redis-nodes';
import { waitFor } from '../helpers/wait';
import { destroyAll, provider, synced } from './yjs-helpers';
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

describe('Yjs updates when the room shard’s pub/sub drops', () => {
  const nodes: SwarmNode[] = [];
  const prefix = uniquePrefix('yfault');
  before(async () => {
    for (let i = 0; i < 2; i++) {
      nodes.push(await startRedisNode(redis, prefix, { extensions: [new YjsExtension()] }));
    }
  });
  after(async () => {
    destroyAll();
    await Promise.all(nodes.map((node) => node.close()));
  });

  it('repairs the update log gap from history: every edit reaches the other node, in one document', async () => {
    const room = 'yjs-gap';
    const writer = await synced(provider(nodes[0]!, room));
    const reader = await synced(provider(nodes[1]!, room));
    const list = writer.doc.getArray<string>('edits');
    const owner = await redis.ownerOf(new RedisKeys(prefix).roomChannel(room));
    const admin = redis.node(owner.port);
    const total = 300;
    try {
      for (let n = 0; n < total; n++) {
        list.push([`e${n}`]);
        // Kill the shard's subscriber connections three times while the edits flow.
        if (n === 60 || n === 150 || n === 240) await admin.client('KILL', 'TYPE', 'pubsub');
        if (n % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      admin.disconnect();
    }
    await waitFor(() => reader.doc.getArray('edits').length === total, 'every edit at the reader', 15_000);
    assert.deepEqual(
      reader.doc.getArray('edits').toArray(),
      Array.from({ length: total }, (_, n) => `e${n}`),
    );
  });
});
