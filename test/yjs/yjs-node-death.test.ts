import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisKeys } from '../../src/backend/redis/keys';
import { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
import { uniquePrefix } from '../helpers/nodes';
import { type NodeProcess, spawnNode } from '../helpers/process';
import { TestRedis } from '../helpers/redis';
import { startRedisNode } from '../helpers/redis-nodes';
import { waitFor } from '../helpers/wait';
import { destroyAll, provider, synced } from './yjs-helpers';

/** Short liveness times so the test runs in about a second; the defaults give 8 s. */
const HEARTBEAT_MS = 200;
const NODE_TTL_MS = 600;

describe('yjs awareness when a node dies', () => {
  let redis: TestRedis;
  let survivors: SwarmNode[] = [];
  let doomed: NodeProcess | undefined;
  const prefix = uniquePrefix('death');
  const env = { HEARTBEAT_MS: String(HEARTBEAT_MS), NODE_TTL_MS: String(NODE_TTL_MS) };

  before(async () => {
    redis = await TestRedis.start();
    survivors = [
      await startRedisNode(redis.url, prefix, { extensions: [new YjsExtension()], env }),
      await startRedisNode(redis.url, prefix, { extensions: [new YjsExtension()], env }),
    ];
  });
  after(async () => {
    destroyAll();
    doomed?.kill('SIGKILL');
    await Promise.all(survivors.map((node) => node.close()));
    await redis.close();
  });

  it('removes the states of a kill -9ed node’s clients on the other nodes within NODE_TTL_MS + HEARTBEAT_MS', async () => {
    doomed = await spawnNode({ REDIS_URL: redis.url, KEY_PREFIX: prefix, ...env });
    const room = 'death-room';
    const onDoomed = await synced(provider(doomed.port, room));
    onDoomed.awareness.setLocalStateField('cursor', { index: 3 });
    const id = onDoomed.doc.clientID;
    const watchers = await Promise.all(survivors.map((node) => synced(provider(node, room))));
    for (const watcher of watchers) {
      await waitFor(() => watcher.awareness.getStates().has(id), 'the cursor on a survivor');
    }

    doomed.kill('SIGKILL');
    const killedAt = Date.now();
    await doomed.exited;
    // The client of the dead node stays silent (it cannot say goodbye through a dead node).
    onDoomed.shouldConnect = false;
    const limit = NODE_TTL_MS + HEARTBEAT_MS + 2000;
    for (const watcher of watchers) {
      await waitFor(() => !watcher.awareness.getStates().has(id), 'the state removed on a survivor', limit);
    }
    const elapsed = Date.now() - killedAt;
    // Far below y-protocols' own 30 s timeout: the survivors removed it, not the clients.
    assert.ok(elapsed < limit, `removed after ${elapsed} ms`);
    process.stdout.write(`# awareness of a killed node removed after ${elapsed} ms\n`);

    const client = redis.client();
    try {
      const stored = await client.hvals(new RedisKeys(prefix).awareness(room));
      assert.equal(
        stored.some((json) => (JSON.parse(json) as { node: string }).node === doomed!.id),
        false,
        'no state of the dead node left for new joiners',
      );
    } finally {
      client.disconnect();
    }
  });
});
