import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { CloseCode } from '../../src/core/errors';
import type { SwarmNode } from '../../src/node';
import { JsonClient } from '../helpers/client';
import { eventsUrl, startNode } from '../helpers/nodes';
import { waitFor, within } from '../helpers/wait';

describe('heartbeat', () => {
  let node: SwarmNode;
  const sockets: WebSocket[] = [];

  before(async () => {
    node = await startNode({ env: { PING_INTERVAL_MS: '250' } });
  });
  after(async () => {
    for (const socket of sockets) socket.terminate();
    await node.close();
  });

  it('closes a socket that stops answering pings with 4504 and keeps one that answers', async () => {
    const live = await JsonClient.connect(eventsUrl(node));
    let pings = 0;
    live.socket.on('ping', () => pings++);
    // A peer that is gone without a FIN looks like this: the socket is open, nothing answers.
    const dead = await JsonClient.connect(eventsUrl(node), { autoPong: false });
    sockets.push(live.socket, dead.socket);
    assert.equal((await within(dead.closed, 'dead socket closed', 3000)).code, CloseCode.HeartbeatTimeout);
    await waitFor(() => pings >= 4, 'four pings answered by the live socket');
    assert.equal(live.socket.readyState, WebSocket.OPEN);
    await live.request('node.info');
    await waitFor(() => node.connections.size === 1, 'the dead connection forgotten');
  });
});
