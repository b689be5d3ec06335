import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisKeys } from '../../src/backend/redis/keys';
import type { SwarmNode } from '../../src/node';
import { OpenClients } from '../helpers/client';
import { clusterSuite } from '../helpers/cluster-suite';
import { eventsUrl, uniquePrefix } from '../helpers/nodes';
import { TestRedisCluster } from '../helpers/redis-cluster';
import { startRedisNodes } from '../helpers/redis-nodes';
import { waitFor } from '../helpers/wait';

let redis: TestRedisCluster;
before(async () => {
  redis = await TestRedisCluster.start();
});
after(async () => {
  await redis?.close();
});

clusterSuite('Redis Cluster (three masters, three replicas)', () => {
  let nodes: SwarmNode[] = [];
  return {
    async start(count, options) {
      nodes = await startRedisNodes(count, redis, options);
      return nodes;
    },
    async stop() {
      await Promise.all(nodes.map((node) => node.close()));
    },
  };
});

/** `INFO commandstats` of one server as command -> calls. */
async function commandCalls(port: number): Promise<Map<string, number>> {
  const client = redis.node(port);
  try {
    const text = await client.info('commandstats');
    const calls = new Map<string, number>();
    for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
      calls.set(match[1]!, Number(match[2]));
    return calls;
  } finally {
    client.disconnect();
  }
}

describe('rooms spread over a Redis Cluster', () => {
  let nodes: SwarmNode[] = [];
  const clients = new OpenClients();
  after(async () => {
    clients.terminateAll();
    await Promise.all(nodes.map((node) => node.close()));
  });

  it('puts 300 rooms on every master and sends their events with SPUBLISH only, on each room’s shard', async () => {
    const prefix = uniquePrefix('spread');
    nodes = await startRedisNodes(2, redis, {}, prefix);
    const masters = await redis.masters();
    for (const master of masters) {
      const client = redis.node(master.port);
      await client.config('RESETSTAT');
      client.disconnect();
    }
    const writer = await clients.connect(eventsUrl(nodes[0]!));
    const reader = await clients.connect(eventsUrl(nodes[1]!));
    const rooms = Array.from({ length: 300 }, (_, i) => `room-${i}`);
    for (const room of rooms) {
      await writer.join(room);
      await reader.join(room);
    }
    for (const room of rooms) await writer.request('chat.message', { room, data: { text: room } });
    await waitFor(
      () => rooms.every((room) => reader.events(room, 'chat.message').length === 1),
      'one message in every room at the reader',
      20_000,
    );
    const keys = new RedisKeys(prefix);
    for (const master of masters) {
      const client = redis.node(master.port);
      try {
        const [, found] = await client.scan('0', 'MATCH', `${prefix}:room:*:events:log`, 'COUNT', 100_000);
        assert.ok(found.length > 0, `master ${master.port} holds room keys`);
        for (const key of found) {
          const room = rooms.find((name) => keys.log(name, 'events') === key)!;
          assert.equal(
            (await redis.ownerOf(keys.roomChannel(room))).port,
            master.port,
            'channel and keys share a shard',
          );
        }
      } finally {
        client.disconnect();
      }
      const calls = await commandCalls(master.port);
      assert.ok((calls.get('spublish') ?? 0) > 0, `master ${master.port} counts spublish`);
      assert.equal(calls.get('publish') ?? 0, 0, `no classic PUBLISH on master ${master.port}`);
    }
  });
});
