import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RedisBackend } from '../../src/backend/redis/redis-backend';
import type { SwarmNode } from '../../src/node';
import { OpenClients } from '../helpers/client';
import { eventsUrl } from '../helpers/nodes';
import { TestRedis } from '../helpers/redis';
import { startRedisNodes } from '../helpers/redis-nodes';
import { waitFor } from '../helpers/wait';

describe('the Redis bus and history', () => {
  let redis: TestRedis;
  let nodes: SwarmNode[];
  const clients = new OpenClients();
  const connect = (i: number) => clients.connect(eventsUrl(nodes[i]!));

  before(async () => {
    redis = await TestRedis.start();
    nodes = await startRedisNodes(2, redis.url, { env: { HISTORY_LIMIT: '10' } });
  });
  after(async () => {
    clients.terminateAll();
    await Promise.all(nodes.map((node) => node.close()));
    await redis.close();
  });

  it('subscribes a node to a room channel only while it has members there', async () => {
    const admin = redis.client();
    const channel = (nodes[0]!.backend as RedisBackend).keys.roomChannel('sub-1');
    const subscribers = async () => Number(((await admin.pubsub('NUMSUB', channel)) as [string, number])[1]);
    try {
      assert.equal(await subscribers(), 0);
      const a = await connect(0);
      await a.join('sub-1');
      assert.equal(await subscribers(), 1);
      const b = await connect(1);
      await b.join('sub-1');
      assert.equal(await subscribers(), 2);
      await a.request('room.leave', { data: { room: 'sub-1' } });
      await waitFor(async () => (await subscribers()) === 1, 'node 1 to unsubscribe');
      await b.close();
      await waitFor(async () => (await subscribers()) === 0, 'node 2 to unsubscribe when its member left');
    } finally {
      admin.disconnect();
    }
  });

  it('says recovered: false when the history no longer reaches back to `since`', async () => {
    const writer = await connect(0);
    const first = await writer.join('capped-1');
    // HISTORY_LIMIT is 10; Redis trims approximately (whole stream nodes of 100 entries),
    // so write well past a node's worth to be sure the start is gone.
    for (let n = 0; n < 250; n++)
      await writer.request('chat.message', { room: 'capped-1', data: { text: `${n}` } });
    const late = await connect(1);
    const join = await late.join('capped-1', { since: 1, epoch: first.epoch || undefined });
    assert.equal(join.recovered, false);
    const recent = await connect(1);
    const recentJoin = await recent.join('capped-1', { since: join.offset - 3 });
    assert.equal(recentJoin.recovered, true);
    await waitFor(() => recent.events('capped-1', 'chat.message').length >= 3, 'the last three messages');
    assert.deepEqual(
      recent.events('capped-1', 'chat.message').map((f) => (f.data as { text: string }).text),
      ['247', '248', '249'],
    );
  });

  it('drops a room stream’s old epoch when its keys were lost, and tells members to rejoin', async () => {
    const writer = await connect(0);
    const reader = await connect(1);
    const joined = await writer.join('reset-1');
    await reader.join('reset-1');
    await writer.request('chat.message', { room: 'reset-1', data: { text: 'before' } });
    await reader.next((f) => f.type === 'chat.message', 'the first message');
    const admin = redis.client();
    const keys = (nodes[0]!.backend as RedisBackend).keys;
    await admin.del(
      keys.epoch('reset-1', 'events'),
      keys.seq('reset-1', 'events'),
      keys.log('reset-1', 'events'),
    );
    admin.disconnect();
    await writer.request('chat.message', { room: 'reset-1', data: { text: 'after' } });
    const reset = await reader.next((f) => f.type === 'room.reset', 'room.reset at the other node');
    assert.notEqual((reset.data as { epoch: string }).epoch, joined.epoch);
  });
});
