import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { CloseCode } from '../src/core/errors';
import { JsonClient } from './helpers/client';
import { eventsUrl } from './helpers/nodes';
import { spawnNode } from './helpers/process';
import { waitFor, within } from './helpers/wait';

/** Opens a WebSocket by hand and then never answers the close handshake, like a stuck client. */
async function stuckSocket(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    'GET /events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await new Promise((resolve) => socket.once('data', resolve));
  return socket;
}

describe('drain on SIGTERM', () => {
  it('closes sockets with 1012, turns /readyz 503 and exits 0 within the drain timeout', async () => {
    const node = await spawnNode({ DRAIN_TIMEOUT_MS: '1500' });
    const client = await JsonClient.connect(eventsUrl(node.port));
    await client.join('drain-1');
    const stuck = await stuckSocket(node.port);
    node.kill('SIGTERM');
    const { code } = await within(client.closed, 'close frame');
    assert.equal(code, CloseCode.ServiceRestart);
    const status = await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${node.port}/readyz`).catch(() => undefined);
      return res?.status === 503 ? res.status : undefined;
    }, '/readyz to turn 503');
    assert.equal(status, 503);
    const exit = await within(node.exited, 'process exit', 5000);
    assert.equal(exit.code, 0);
    assert.ok(node.lines.some((line) => line.includes('"drained"') || line.includes('drain timed out')));
    stuck.destroy();
  });

  it('exits 0 on SIGINT too', async () => {
    const node = await spawnNode();
    node.kill('SIGINT');
    assert.equal((await within(node.exited, 'process exit')).code, 0);
  });
});
