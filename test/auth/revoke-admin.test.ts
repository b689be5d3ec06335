import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode } from '../../src/core/errors';
import { adminExtension } from '../../src/modules/admin/admin-api';
import type { SwarmNode } from '../../src/node';
import { JsonClient } from '../helpers/client';
import { eventsUrl } from '../helpers/nodes';
import { within } from '../helpers/wait';
import { startAuthNodes, token, upgrade } from './auth-helpers';

const ADMIN = 'admin-token-0123456789abcdef';

describe('revocation through the admin API', () => {
  let nodes: SwarmNode[];
  const clients: JsonClient[] = [];

  before(async () => {
    nodes = await startAuthNodes(2, { extensions: () => [adminExtension(ADMIN)] });
  });
  after(async () => {
    for (const client of clients) client.socket.terminate();
    await Promise.all(nodes.map((node) => node.close()));
  });

  it('closes the user’s sockets on every node with 4403 and refuses the old token', async () => {
    const old = await token({ sub: 'zed', rooms: { '*': 'write' }, iat: Math.floor(Date.now() / 1000) - 5 });
    const victims = await Promise.all(
      nodes.map((node) => JsonClient.connect(eventsUrl(node, `?token=${old}`))),
    );
    clients.push(...victims);
    const res = await fetch(`http://127.0.0.1:${nodes[0]!.port}/api/users/zed/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'test' }),
    });
    assert.equal(res.status, 200);
    for (const victim of victims) {
      assert.equal((await within(victim.closed, 'victim closed')).code, CloseCode.Revoked);
    }
    const again = await upgrade(eventsUrl(nodes[1]!, `?token=${old}`));
    assert.equal(again.status, 403);
  });
});
