import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SharedMemory } from '../../src/backend/memory/shared-memory';
import type { SwarmNode } from '../../src/node';
import { OpenClients } from '../helpers/client';
import { eventsUrl, startNodes } from '../helpers/nodes';
import { TestRedis } from '../helpers/redis';
import { startRedisNodes } from '../helpers/redis-nodes';

const fixtures: Array<{ name: string; start: () => Promise<SwarmNode[]>; stop?: () => Promise<void> }> = [];
let redis: TestRedis | undefined;
fixtures.push({ name: 'memory', start: () => startNodes(2, { cluster: new SharedMemory(1000) }) });
fixtures.push({
  name: 'Redis',
  start: async () => {
    redis = await TestRedis.start();
    return startRedisNodes(2, redis.url);
  },
  stop: async () => redis?.close(),
});

for (const fixture of fixtures) {
  describe(`a node that drains, over ${fixture.name}`, () => {
    let nodes: SwarmNode[];
    const clients = new OpenClients();

    before(async () => {
      nodes = await fixture.start();
    });
    after(async () => {
      clients.terminateAll();
      for (const node of nodes) await node.close();
      await fixture.stop?.();
    });

    it('leaves the node registry, so no survivor takes it for a node that died', async () => {
      const [leaving, staying] = nodes as [SwarmNode, SwarmNode];
      const client = await clients.connect(eventsUrl(leaving));
      await client.join('goodbye');
      assert.deepEqual(
        (await staying.backend.nodes.live()).map((n) => n.id).sort(),
        [leaving.id, staying.id].sort(),
      );
      await leaving.drain();
      assert.deepEqual(await staying.backend.members.list('goodbye'), []);
      assert.deepEqual(await staying.backend.nodes.dead(), []);
      assert.deepEqual(
        (await staying.backend.nodes.live()).map((n) => n.id),
        [staying.id],
      );
    });
  });
}
