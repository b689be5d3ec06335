import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, ErrorCode } from '../../src/core/errors';
import { revokeUser } from '../../src/modules/auth/revoke';
import type { SwarmNode } from '../../src/node';
import { JsonClient } from '../helpers/client';
import { eventsUrl } from '../helpers/nodes';
import { within } from '../helpers/wait';
import { type Claims, token, upgrade } from './auth-helpers';

const ROOMS = { 'doc-*': 'write', lobby: 'write' } as const;

export interface RevokeCluster {
  readonly nodes: SwarmNode[];
  /** Starts one more node of the same cluster (stopped by `stop`). */
  another(): Promise<SwarmNode>;
  stop(): Promise<void>;
}

/** Revocation across three nodes, as every backend must show it; `start` makes the cluster (memory bus, or Redis). */
export function revokeSuite(name: string, start: () => Promise<RevokeCluster>) {
  describe(`revocation across three nodes over ${name}`, () => {
    let nodes: SwarmNode[];
    let cluster: RevokeCluster;
    const clients: JsonClient[] = [];
    const connect = async (i: number, claims: Claims) => {
      const client = await JsonClient.connect(eventsUrl(nodes[i]!, `?token=${await token(claims)}`));
      clients.push(client);
      return client;
    };

    before(async () => {
      cluster = await start();
      nodes = cluster.nodes;
    });
    after(async () => {
      for (const client of clients) client.socket.terminate();
      await cluster.stop();
    });

    it('closes every socket of the user on every node with 4403 when revoked on node A', async () => {
      const victims = [
        await connect(0, { sub: 'eve', rooms: ROOMS }),
        await connect(1, { sub: 'eve', rooms: ROOMS }),
      ];
      victims.push(
        await connect(2, { sub: 'eve', rooms: ROOMS }),
        await connect(2, { sub: 'eve', rooms: ROOMS }),
      );
      const bystanders = [
        await connect(1, { sub: 'bob', rooms: ROOMS }),
        await connect(2, { sub: 'bob', rooms: ROOMS }),
      ];
      await victims[1]!.join('lobby');
      await bystanders[0]!.join('lobby');
      await revokeUser(nodes[0]!, 'eve');
      for (const victim of victims) {
        assert.equal((await within(victim.closed, 'victim closed')).code, CloseCode.Revoked);
      }
      await bystanders[0]!.next(
        (f) => f.type === 'room.member.left' && (f.data as { user: string }).user === 'eve',
        'the room hears eve left',
      );
      for (const bystander of bystanders) {
        assert.equal(bystander.socket.readyState, bystander.socket.OPEN);
        await bystander.request('node.info');
      }
    });

    it('refuses the revoked token at the upgrade on every node, and lets a token issued later in', async () => {
      const old = await token({ sub: 'mallory', rooms: ROOMS, iat: Math.floor(Date.now() / 1000) - 5 });
      await revokeUser(nodes[1]!, 'mallory');
      for (const node of nodes) {
        // The revocation reaches the other nodes through the bus.
        await within(
          (async () => {
            for (;;) {
              const outcome = await upgrade(eventsUrl(node, `?token=${old}`));
              outcome.socket?.terminate();
              if (outcome.status === 403) return;
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
          })(),
          `403 on ${node.id}`,
        );
      }
      const fresh = await token({ sub: 'mallory', rooms: ROOMS, iat: Math.floor(Date.now() / 1000) + 1 });
      const outcome = await upgrade(eventsUrl(nodes[2]!, `?token=${fresh}`));
      assert.equal(outcome.status, 101);
      outcome.socket?.terminate();
    });

    it('closes only the connections in the revoked room, and refuses rejoining it', async () => {
      const inRoom = await connect(1, { sub: 'carol', rooms: ROOMS, iat: Math.floor(Date.now() / 1000) - 5 });
      const elsewhere = await connect(2, {
        sub: 'carol',
        rooms: ROOMS,
        iat: Math.floor(Date.now() / 1000) - 5,
      });
      await inRoom.join('doc-private');
      await elsewhere.join('doc-public');
      await revokeUser(nodes[0]!, 'carol', 'doc-private');
      assert.equal((await within(inRoom.closed, 'in-room socket closed')).code, CloseCode.Revoked);
      await elsewhere.request('chat.message', { room: 'doc-public', data: { text: 'still here' } });
      const err = await elsewhere.expectError({ type: 'room.join', data: { room: 'doc-private' } });
      assert.equal(err.code, ErrorCode.Forbidden);
      assert.equal(elsewhere.socket.readyState, elsewhere.socket.OPEN);
    });

    it('refuses a revoked token on a node that started after the revocation', async () => {
      const old = await token({ sub: 'trudy', rooms: ROOMS, iat: Math.floor(Date.now() / 1000) - 5 });
      await revokeUser(nodes[0]!, 'trudy');
      const late = await cluster.another();
      const outcome = await upgrade(eventsUrl(late, `?token=${old}`));
      outcome.socket?.terminate();
      assert.equal(outcome.status, 403);
      const other = await upgrade(eventsUrl(late, `?token=${await token({ sub: 'bob', rooms: ROOMS })}`));
      assert.equal(other.status, 101, 'other users are not affected');
      other.socket?.terminate();
    });
  });
}
