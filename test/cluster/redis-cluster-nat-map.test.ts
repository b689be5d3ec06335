import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import calculateSlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';
import { RedisBackend } from '../../src/backend/redis/redis-backend';
import { ownerConnection } from '../../src/backend/redis/slot-owner';
import type { RedisClusterConfig } from '../../src/core/config';
import { DEFAULT_STREAM } from '../../src/core/events/event';
import { createLogger } from '../../src/core/log';
import { uniquePrefix } from '../helpers/nodes';
import { TestRedisCluster } from '../helpers/redis-cluster';
import { TcpProxy } from '../helpers/tcp-proxy';
import { waitFor } from '../helpers/wait';

const silent = createLogger('silent', 'nat-map-test');
const ROOMS = 30;
const SWITCHOVERS = 6;

/**
 * A Redis Cluster reached through a NAT map (REDIS_CLUSTER_NAT_MAP): each master and
 * replica behind its own TCP proxy, as a node behind NAT or published ports sees it.
 * Through a NAT map a MOVED sends ioredis's commands to a random node until the slot
 * refresh, and ioredis's own cluster pipelines then lost track of their replies: a
 * 30-minute chaos run read other commands' replies as stream heads.
 */
describe('a Redis Cluster through a NAT map', () => {
  let redis: TestRedisCluster;
  const proxies: TcpProxy[] = [];
  let config: RedisClusterConfig;
  const backends: RedisBackend[] = [];

  before(async () => {
    redis = await TestRedisCluster.start();
    const natMap: Record<string, { host: string; port: number }> = {};
    for (const port of redis.ports) {
      const proxy = await TcpProxy.start([port]);
      proxies.push(proxy);
      natMap[`127.0.0.1:${port}`] = { host: '127.0.0.1', port: proxy.port };
    }
    config = {
      ...redis.config,
      nodes: proxies.map((proxy) => ({ host: '127.0.0.1', port: proxy.port })),
      natMap,
    };
  });
  after(async () => {
    await Promise.all(backends.map((backend) => backend.close()));
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await redis?.close();
  });

  async function backend(node: string, keyPrefix: string): Promise<RedisBackend> {
    const started = new RedisBackend({
      cluster: config,
      node,
      keyPrefix,
      historyLimit: 100_000,
      waitReplicas: 1,
      log: silent,
    });
    backends.push(started);
    await started.start();
    return started;
  }

  it('names the master that owns a key by the address the NAT map gives, after a MOVED too', async () => {
    const node = await backend('owner', uniquePrefix('nat'));
    const client = node.redis as unknown as Cluster;
    const key = 'nat-owner-key';
    const owner = await redis.ownerOf(key);
    const proxy = proxies[redis.ports.indexOf(owner.port)]!;
    assert.equal(ownerConnection(client, key, config.natMap)?.options.port, proxy.port);
    // What a MOVED leaves in the slot map until the refresh: the announced address.
    client.slots[calculateSlot(key)] = [`127.0.0.1:${owner.port}`];
    assert.equal(ownerConnection(client, key, config.natMap)?.options.port, proxy.port);
  });

  it('keeps every reply with its command while masters switch over under appends and awareness writes', async () => {
    const prefix = uniquePrefix('nat');
    const nodes = await Promise.all(['nat-a', 'nat-b', 'nat-c'].map((id) => backend(id, prefix)));
    const acked = new Map<string, number[]>();
    const wrong: string[] = [];
    let running = true;
    let failed = 0;

    // Each room has one writer, so each append it makes must get the next offset.
    const writer = async (room: string, node: RedisBackend) => {
      const offsets: number[] = [];
      acked.set(room, offsets);
      for (let n = 0; running; n++) {
        try {
          const stored = await node.bus.publishRoom(
            { type: 'nat.test', room, data: { n }, from: { node: 'nat' } },
            DEFAULT_STREAM,
          );
          const last = offsets[offsets.length - 1];
          if (last !== undefined && stored.offset <= last)
            wrong.push(`${room}: offset ${stored.offset} after ${last}`);
          offsets.push(stored.offset);
          const head = await node.history.head(room, DEFAULT_STREAM);
          if (head.offset < stored.offset || head.epoch !== stored.epoch) {
            wrong.push(`${room}: head ${JSON.stringify(head)} after ${stored.offset} ${stored.epoch}`);
          }
          await node.awareness.put(room, [
            { client: n, clock: n, state: '{}', node: 'nat', updatedAt: Date.now() },
          ]);
        } catch {
          failed += 1;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    };
    const writers = Array.from({ length: ROOMS }, (_, i) =>
      writer(`nat-room-${i}`, nodes[i % nodes.length]!),
    );

    try {
      for (let i = 0; i < SWITCHOVERS; i++) {
        const total = () => [...acked.values()].reduce((sum, offsets) => sum + offsets.length, 0);
        const before = total();
        await waitFor(() => total() >= before + 200, 'appends between switch-overs', 30_000);
        await redis.switchOver((await redis.nodes()).find((node) => !node.master && !node.failed)!);
      }
    } finally {
      running = false;
      await Promise.all(writers);
    }

    assert.deepEqual(wrong, [], `${wrong.length} replies were not their command's (${failed} sends failed)`);
    // What each writer was told is what the room's history holds, in order.
    for (const [room, offsets] of acked) {
      const read = await nodes[0]!.history.read(room, DEFAULT_STREAM, 0, undefined, 100_000);
      const stored = read.events.map((event) => event.offset);
      for (const offset of offsets) assert.ok(stored.includes(offset), `${room}: offset ${offset} stored`);
    }
  });
});
