import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { handlers } from '../../src/modules/handlers';
import type { SwarmNode } from '../../src/node';
import { OpenClients } from './client';
import { eventsUrl, type TestNodeOptions } from './nodes';
import { ping, pings } from './test-events';
import { waitFor } from './wait';

export interface ClusterFixture {
  /** Starts `count` nodes that form one cluster. */
  start(count: number, options: TestNodeOptions): Promise<SwarmNode[]>;
  stop(): Promise<void>;
}

/**
 * The behaviour every backend must show with three nodes. Run over the in-memory bus
 * and over Redis, like socket.io's adapter tests.
 */
export function clusterSuite(name: string, fixture: () => ClusterFixture): void {
  describe(`three nodes over ${name}`, () => {
    let nodes: SwarmNode[];
    let current: ClusterFixture;
    const clients = new OpenClients();
    const connect = (i: number) => clients.connect(eventsUrl(nodes[i]!));

    before(async () => {
      current = fixture();
      nodes = await current.start(3, { handlers: [...handlers, ping] });
    });
    after(async () => {
      clients.terminateAll();
      await current.stop();
    });

    it('delivers room events to every member on every node once and in order', async () => {
      const members = [await connect(0), await connect(1), await connect(2), await connect(1)];
      for (const client of members) await client.join('order-1');
      const outsider = await connect(2);
      await outsider.join('order-other');
      const perSender = 20;
      await Promise.all(
        members.slice(0, 3).map(async (client, i) => {
          for (let n = 0; n < perSender; n++) {
            await client.request('chat.message', { room: 'order-1', data: { text: `${i}:${n}` } });
          }
        }),
      );
      const total = perSender * 3;
      for (const client of members) {
        await waitFor(() => client.events('order-1', 'chat.message').length >= total, 'all chat messages');
      }
      const reference = members[0]!.events('order-1', 'chat.message').map((f) => f.offset);
      for (const client of members) {
        const got = client.events('order-1', 'chat.message');
        assert.equal(got.length, total, 'each message exactly once');
        assert.deepEqual(
          got.map((f) => f.offset),
          reference,
          'same order on every node',
        );
        const offsets = got.map((f) => f.offset!);
        assert.deepEqual(
          offsets,
          [...offsets].sort((a, b) => a - b),
          'increasing offsets',
        );
        for (let i = 0; i < 3; i++) {
          const mine = got.map((f) => (f.data as { text: string }).text).filter((t) => t.startsWith(`${i}:`));
          assert.deepEqual(
            mine,
            Array.from({ length: perSender }, (_, n) => `${i}:${n}`),
            'a sender’s messages in send order',
          );
        }
      }
      assert.equal(outsider.events('order-1').length, 0, 'a member of another room receives nothing');
      assert.equal(outsider.events('order-other', 'chat.message').length, 0);
    });

    it('lists members on every node in the join answer', async () => {
      const [a, b] = [await connect(0), await connect(1)];
      await a.join('members-1');
      await b.join('members-1');
      const c = await connect(2);
      const join = await c.join('members-1');
      assert.deepEqual(
        join.members.map((m) => m.node).sort(),
        [nodes[0]!.id, nodes[1]!.id, nodes[2]!.id].sort(),
      );
    });

    it('gives a client that reconnects to another node exactly the events it missed', async () => {
      const writer = await connect(0);
      await writer.join('resume-1');
      const reader = await connect(1);
      const first = await reader.join('resume-1');
      await writer.request('chat.message', { room: 'resume-1', data: { text: 'seen' } });
      const seen = await reader.next((f) => f.type === 'chat.message', 'first message');
      await reader.close();
      for (let n = 0; n < 5; n++) {
        await writer.request('chat.message', { room: 'resume-1', data: { text: `missed ${n}` } });
      }
      const again = await connect(2);
      const join = await again.join('resume-1', { since: seen.offset, epoch: first.epoch || undefined });
      assert.equal(join.recovered, true);
      await waitFor(() => again.events('resume-1', 'chat.message').length >= 5, 'missed messages');
      assert.deepEqual(
        again.events('resume-1', 'chat.message').map((f) => (f.data as { text: string }).text),
        ['missed 0', 'missed 1', 'missed 2', 'missed 3', 'missed 4'],
      );
    });

    it('runs a cluster-scope event once on every node', async () => {
      const client = await connect(1);
      const tag = `tag-${Date.now()}`;
      await client.request('test.ping', { data: { tag } });
      await waitFor(() => (pings.get(tag)?.length ?? 0) >= 3, 'handler on three nodes');
      assert.deepEqual([...(pings.get(tag) ?? [])].sort(), nodes.map((n) => n.id).sort());
    });

    it('shares room state across nodes', async () => {
      const a = await connect(0);
      await a.join('state-1');
      await a.request('room.state.set', { room: 'state-1', data: { key: 'k', value: 42 } });
      const b = await connect(2);
      const join = await b.join('state-1');
      assert.deepEqual(join.state, { k: 42 });
    });
  });
}
