import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { CloseCode } from '../../src/errors';
import type { SwarmNode } from '../../src/node';
import { YjsExtension } from '../../src/yjs/yjs-extension';
import { startNode } from '../helpers/nodes';
import { waitFor, within } from '../helpers/wait';
import { destroyAll, provider, RawYjsClient, synced, yjsServerUrl } from '../yjs/yjs-helpers';

describe('limits on /yjs/<room>', () => {
  let node: SwarmNode;
  const sockets: WebSocket[] = [];

  before(async () => {
    node = await startNode({
      extensions: [new YjsExtension()],
      env: {
        RATE_LIMIT_PER_SEC: '20',
        RATE_LIMIT_BURST: '20',
        RATE_LIMIT_MAX_DROPS: '20',
        PING_INTERVAL_MS: '250',
      },
    });
  });
  afterEach(() => destroyAll());
  after(async () => {
    for (const socket of sockets) socket.terminate();
    await node.close();
  });

  it('closes a Yjs socket that keeps flooding with 4429 and leaves a provider in the room alone', async () => {
    const editor = await synced(provider(node, 'flood-room'));
    const flood = await RawYjsClient.connect(node, 'flood-room');
    sockets.push(flood.socket);
    // query-awareness, 100 times: harmless one by one, abusive at once.
    for (let i = 0; i < 100; i++) flood.send(new Uint8Array([3]));
    assert.equal((await within(flood.closed, 'flood closed')).code, CloseCode.RateLimited);
    editor.doc.getText('text').insert(0, 'still fine');
    const other = await synced(provider(node, 'flood-room'));
    await waitFor(() => other.doc.getText('text').toString() === 'still fine', 'the room works on');
    assert.equal(editor.wsconnected, true);
  });

  it('closes a Yjs socket that does not answer pings with 4408, and keeps a live provider', async () => {
    const live = await synced(provider(node, 'ping-room'));
    const liveCloses: number[] = [];
    live.on('connection-close', (event: { code: number } | null) => liveCloses.push(event?.code ?? 0));
    const dead = new WebSocket(`${yjsServerUrl(node)}/ping-room`, { autoPong: false });
    sockets.push(dead);
    const closed = new Promise<number>((resolve) => dead.on('close', (code) => resolve(code)));
    assert.equal(await within(closed, 'dead socket closed', 3000), CloseCode.HeartbeatTimeout);
    assert.deepEqual(liveCloses, [], 'the provider answers pings and stays');
  });
});
