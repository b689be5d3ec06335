import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SwarmNode } from '../../src/node';
import { upgrade } from '../auth/auth-helpers';
import { JsonClient } from '../helpers/client';
import { eventsUrl, startNode } from '../helpers/nodes';
import { waitFor } from '../helpers/wait';

describe('connection cap', () => {
  let node: SwarmNode;
  const clients: JsonClient[] = [];

  before(async () => {
    node = await startNode({ env: { MAX_CONNECTIONS: '3' } });
  });
  after(async () => {
    for (const client of clients) client.socket.terminate();
    await node.close();
  });

  it('refuses upgrades past MAX_CONNECTIONS with 503 and takes new ones once a socket closed', async () => {
    for (let i = 0; i < 3; i++) clients.push(await JsonClient.connect(eventsUrl(node)));
    assert.equal((await upgrade(eventsUrl(node))).status, 503);
    await clients[0]!.close();
    await waitFor(() => node.connections.size === 2, 'the closed socket to be forgotten');
    const outcome = await upgrade(eventsUrl(node));
    assert.equal(outcome.status, 101);
    outcome.socket?.terminate();
  });
});
