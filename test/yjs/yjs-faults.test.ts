import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
import { uniquePrefix } from '../helpers/nodes';
import { TestRedis } from '../helpers/redis';
import { startRedisNode } from '../helpers/redis-nodes';
import { waitFor } from '../helpers/wait';
import { destroyAll, provider, synced } from './yjs-helpers';

describe('Yjs updates when Redis pub/sub drops', () => {
  let redis: TestRedis;
  const nodes: SwarmNode[] = [];

  before(async () => {
    redis = await TestRedis.start();
    const prefix = uniquePrefix('yfault');
    for (let i = 0; i < 2; i++) {
      nodes.push(await startRedisNode(redis.url, prefix, { extensions: [new YjsExtension()] }));
    }
  });
  after(async () => {
    destroyAll();
    await Promise.all(nodes.map((node) => node.close()));
    await redis.close();
  });

  it('repairs the update log gap from history: every edit reaches the other node, in one document', async () => {
    const writer = await synced(provider(nodes[0]!, 'yjs-gap'));
    const reader = await synced(provider(nodes[1]!, 'yjs-gap'));
    const list = writer.doc.getArray<string>('edits');
    const admin = redis.client();
    const total = 300;
    try {
      for (let n = 0; n < total; n++) {
        list.push([`e${n}`]);
        // Kill every subscriber connection three times while the edits flow.
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
