import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { CloseCode } from '../../src/core/errors';
import { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
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
        YJS_RATE_LIMIT_PER_SEC: '20',
        YJS_RATE_LIMIT_BURST: '20',
        PING_INTERVAL_MS: '250',
      },
    });
  });
  afterEach(() => destroyAll());
  after(async () => {
    for (const socket of sockets) socket.terminate();
    await node.close();
  });

  it('reads a flooding Yjs socket at its rate instead of closing it, answers every frame, and leaves a provider in the room alone', async () => {
    const editor = await synced(provider(node, 'flood-room'));
    editor.awareness.setLocalState({ name: 'editor' });
    const flood = await RawYjsClient.connect(node, 'flood-room');
    sockets.push(flood.socket);
    await flood.next((f) => f[0] === 1, 'the room’s awareness');
    const before = flood.frames.filter((f) => f[0] === 1).length;
    const answers = () => flood.frames.filter((f) => f[0] === 1).length - before;
    const started = Date.now();
    // query-awareness, 60 times at once: 20 within the burst, 40 more that arrive with them
    // (one read of the socket) and are handled, leaving the socket 40 frames in debt.
    for (let i = 0; i < 60; i++) flood.send(new Uint8Array([3]));
    await waitFor(() => answers() >= 60, 'an answer to every query', 10_000);
    // The socket is not read again until the debt is repaid at 20/s: ~2 s after the burst.
    flood.send(new Uint8Array([3]));
    await waitFor(() => answers() >= 61, 'the answer to the query after the burst', 10_000);
    const elapsed = Date.now() - started;
    // A lower bound only: the socket cannot have been read sooner.
    assert.ok(elapsed >= 1500, `the frame after the burst was answered after ${elapsed} ms`);
    assert.equal(flood.socket.readyState, WebSocket.OPEN, 'never closed');
    editor.doc.getText('text').insert(0, 'still fine');
    const other = await synced(provider(node, 'flood-room'));
    await waitFor(() => other.doc.getText('text').toString() === 'still fine', 'the room works on');
    assert.equal(editor.wsconnected, true);
  });

  it('closes a Yjs socket that does not answer pings with 4504, and keeps a live provider', async () => {
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
