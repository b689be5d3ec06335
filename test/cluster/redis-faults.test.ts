import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SwarmNode } from '../../src/node';
import { OpenClients } from '../helpers/client';
import { eventsUrl, uniquePrefix } from '../helpers/nodes';
import { type NodeProcess, spawnNode } from '../helpers/process';
import { TestRedis } from '../helpers/redis';
import { startRedisNodes } from '../helpers/redis-nodes';
import { assertReceivedAll, steadyWriter } from '../helpers/steady-writer';
import { waitFor, within } from '../helpers/wait';

async function readyStatus(node: SwarmNode): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${node.port}/readyz`);
  return res.status;
}

describe('Redis faults, three in-process nodes', () => {
  let redis: TestRedis;
  let nodes: SwarmNode[];
  const clients = new OpenClients();
  const connect = (i: number) => clients.connect(eventsUrl(nodes[i]!));

  before(async () => {
    redis = await TestRedis.start();
    nodes = await startRedisNodes(3, redis.url);
  });
  after(async () => {
    clients.terminateAll();
    await Promise.all(nodes.map((node) => node.close()));
    await redis.close();
  });

  it('loses no acknowledged event when the pub/sub connections are killed mid-stream', async () => {
    const room = 'kill-pubsub';
    const writer = await connect(0);
    const readers = [await connect(1), await connect(2)];
    for (const client of [writer, ...readers]) await client.join(room);
    const stream = steadyWriter(writer, room);
    const admin = redis.client();
    try {
      for (const at of [40, 120, 200]) {
        await waitFor(() => stream.acked.length >= at, `${at} messages acknowledged`, 15_000);
        const killed = Number(await admin.client('KILL', 'TYPE', 'pubsub'));
        assert.ok(killed >= 3, `killed the subscriber of every node (${killed})`);
      }
      await waitFor(() => stream.acked.length >= 280, '280 messages acknowledged', 15_000);
    } finally {
      await stream.stop();
      admin.disconnect();
    }
    for (const member of [writer, ...readers]) await assertReceivedAll(member, room, stream.acked);
  });

  it('answers unavailable and turns not ready while Redis restarts, then recovers with nothing lost', async () => {
    const room = 'restart';
    const writer = await connect(0);
    const readers = [await connect(1), await connect(2)];
    for (const client of [writer, ...readers]) await client.join(room);
    const stream = steadyWriter(writer, room);
    try {
      await waitFor(() => stream.acked.length >= 50, '50 messages acknowledged', 15_000);
      await redis.stop();
      for (const node of nodes) await waitFor(async () => (await readyStatus(node)) === 503, '/readyz 503');
      const probe = await connect(1);
      const refused = await probe.expectError({ type: 'room.join', data: { room: 'while-down' } });
      assert.equal(refused.code, 'unavailable');
      await redis.resume();
      for (const node of nodes) {
        await waitFor(async () => (await readyStatus(node)) === 200, '/readyz 200 again', 10_000);
      }
      const after = stream.acked.length;
      await waitFor(() => stream.acked.length >= after + 50, '50 more messages acknowledged', 15_000);
    } finally {
      await stream.stop();
    }
    assert.ok(stream.refused.length > 0, 'the writer was told "unavailable" during the outage');
    for (const member of [writer, ...readers]) await assertReceivedAll(member, room, stream.acked);
  });
  it('removes a member whose socket closed while Redis was away, and announces it, once Redis is back', async () => {
    const room = 'leave-while-down';
    const stays = await connect(0);
    const goes = await connect(2);
    await stays.join(room);
    await goes.join(room);
    await redis.stop();
    for (const node of nodes) await waitFor(async () => (await readyStatus(node)) === 503, '/readyz 503');
    // Its leave cannot be written now: the node must put the registry right later.
    await goes.close();
    await redis.resume();
    const left = await stays.next(
      (f) => f.type === 'room.member.left' && (f.data as { conn: string }).conn === goes.welcome.conn,
      'room.member.left after Redis returned',
      15_000,
    );
    assert.equal((left.data as { node: string }).node, nodes[2]!.id);
    const late = await connect(1);
    const join = await late.join(room);
    assert.deepEqual(
      join.members.map((m) => m.conn).sort(),
      [stays.welcome.conn, late.welcome.conn].sort(),
      'the closed socket is no member any more',
    );
  });
});

describe('a node process killed with SIGKILL', () => {
  const HEARTBEAT_MS = 200;
  const NODE_TTL_MS = 1000;
  let redis: TestRedis;
  const procs: NodeProcess[] = [];
  const clients = new OpenClients();
  const connect = (proc: NodeProcess) => clients.connect(eventsUrl(proc.port));

  before(async () => {
    redis = await TestRedis.start();
    const env = {
      REDIS_URL: redis.url,
      KEY_PREFIX: uniquePrefix('kill'),
      HEARTBEAT_MS: String(HEARTBEAT_MS),
      NODE_TTL_MS: String(NODE_TTL_MS),
    };
    // One at a time into `procs`, so that `after` stops whatever did start.
    for (let i = 0; i < 3; i++) procs.push(await spawnNode(env));
  });
  after(async () => {
    clients.terminateAll();
    for (const proc of procs) proc.kill('SIGKILL');
    await Promise.all(procs.map((proc) => proc.exited));
    await redis.close();
  });

  it('removes its members from every other node within NODE_TTL_MS + HEARTBEAT_MS, and the rest keep serving', async () => {
    const room = 'dead-node';
    const [a, b, c] = [await connect(procs[0]!), await connect(procs[1]!), await connect(procs[2]!)];
    for (const client of [a, b, c]) await client.join(room);
    const victim = procs[2]!;
    victim.kill('SIGKILL');
    await within(victim.exited, 'the killed process to exit');
    // The documented bound, plus slack for a loaded test machine.
    const bound = NODE_TTL_MS + HEARTBEAT_MS + 2000;
    for (const survivor of [a, b]) {
      const left = await survivor.next(
        (f) => f.type === 'room.member.left' && (f.data as { conn: string }).conn === c.welcome.conn,
        'room.member.left for the dead node’s member',
        bound,
      );
      assert.equal((left.data as { node: string }).node, victim.id);
      assert.equal(
        survivor
          .events(room, 'room.member.left')
          .filter((f) => (f.data as { conn: string }).conn === c.welcome.conn).length,
        1,
        'announced once',
      );
    }
    const late = await connect(procs[1]!);
    const join = await late.join(room);
    assert.deepEqual(
      join.members.map((m) => m.node).sort(),
      [procs[0]!.id, procs[1]!.id, procs[1]!.id].sort(),
    );
    await a.request('chat.message', { room, data: { text: 'still here' } });
    await b.next(
      (f) => f.type === 'chat.message' && (f.data as { text: string }).text === 'still here',
      'a message',
    );
  });
});
