import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SwarmNode } from '../../src/node';
import { JsonClient } from '../helpers/client';
import { startNodes } from '../helpers/nodes';
import { freePort } from '../helpers/redis';
import { TcpProxy } from '../helpers/tcp-proxy';
import { within } from '../helpers/wait';

describe('the round-robin TCP proxy (test helper)', () => {
  let nodes: SwarmNode[];
  let proxy: TcpProxy;
  const clients: JsonClient[] = [];
  before(async () => {
    nodes = await startNodes(2);
  });
  after(async () => {
    for (const client of clients) client.socket.terminate();
    await proxy.close();
    for (const node of nodes) await node.close();
  });

  it('hands connections to its targets in turn, skipping one that refuses', async () => {
    const dead = await freePort();
    proxy = await TcpProxy.start([nodes[0]!.port, dead, nodes[1]!.port]);
    for (let i = 0; i < 4; i++) clients.push(await JsonClient.connect(`ws://127.0.0.1:${proxy.port}/events`));
    assert.deepEqual(
      clients.map((c) => c.welcome.node),
      [nodes[0]!.id, nodes[1]!.id, nodes[0]!.id, nodes[1]!.id],
    );
    assert.equal(proxy.handed.get(dead), undefined);
  });

  it('cuts a proxied connection when its node goes away, and stops routing to a removed target', async () => {
    const [onFirst] = clients;
    proxy.remove(nodes[0]!.port);
    await nodes[0]!.close();
    assert.equal((await within(onFirst!.closed, 'the proxied socket to close')).code, 1006);
    const next = await JsonClient.connect(`ws://127.0.0.1:${proxy.port}/events`);
    clients.push(next);
    assert.equal(next.welcome.node, nodes[1]!.id);
  });
});
