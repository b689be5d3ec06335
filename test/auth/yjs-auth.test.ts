import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { CloseCode } from '../../src/core/errors';
import { revokeUser } from '../../src/modules/auth/revoke';
import { Y } from '../../src/modules/yjs/esm';
import { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
import { waitFor, within } from '../helpers/wait';
import { destroyAll, type Provider, provider, synced, upgradeStatus, yjsServerUrl } from '../yjs/yjs-helpers';
import { type Claims, startAuthNodes, token, upgrade } from './auth-helpers';

const text = (p: Provider) => p.doc.getText('text').toString();

/** The close code of the provider's next disconnect (it reconnects on its own afterwards). */
function nextClose(p: Provider): Promise<number> {
  return new Promise((resolve) => {
    const listener = (event: { code: number } | null) => {
      p.off('connection-close', listener);
      resolve(event?.code ?? 0);
    };
    p.on('connection-close', listener);
  });
}

describe('tokens on /yjs/<room>', () => {
  let nodes: SwarmNode[];
  const withToken = async (node: SwarmNode, room: string, claims: Claims) =>
    provider(node, room, new Y.Doc(), { token: await token(claims) });

  before(async () => {
    nodes = await startAuthNodes(2, { extensions: () => [new YjsExtension()] });
  });
  afterEach(() => destroyAll());
  after(async () => {
    await Promise.all(nodes.map((node) => node.close()));
  });

  it('refuses the upgrade without a token (401) and for a room the token does not grant (403)', async () => {
    const base = `${yjsServerUrl(nodes[0]!)}/doc-1`;
    assert.equal(await upgradeStatus(base), 401);
    assert.equal(
      await upgradeStatus(`${base}?token=${await token({ sub: 'u1', rooms: { other: 'write' } })}`),
      403,
    );
    assert.equal(await upgradeStatus(`${base}?token=${await token({ sub: 'u1', expiresIn: -5 })}`), 401);
  });

  it('takes the token from the subprotocol list, as a browser sends it, and answers an offered protocol', async () => {
    const jwt = await token({ sub: 'u1', rooms: { 'doc-*': 'write' } });
    const url = `${yjsServerUrl(nodes[0]!)}/doc-proto`;
    for (const protocols of [[`swarmcast.token.${jwt}`], ['y', `swarmcast.token.${jwt}`]]) {
      const outcome = await upgrade(url, protocols);
      assert.equal(outcome.status, 101);
      assert.equal(outcome.protocol, protocols[0], 'the answer names a protocol the client offered');
      outcome.socket?.terminate();
    }
    assert.equal((await upgrade(url, ['swarmcast.token.forged'])).status, 401);
  });

  it('syncs a reader and shows its presence, but keeps its edits out of the document', async () => {
    const writer = await synced(
      await withToken(nodes[0]!, 'doc-read', { sub: 'w', rooms: { 'doc-*': 'write' } }),
    );
    const reader = await synced(
      await withToken(nodes[1]!, 'doc-read', { sub: 'r', rooms: { 'doc-*': 'read' } }),
    );
    writer.doc.getText('text').insert(0, 'hello');
    await waitFor(() => text(reader) === 'hello', 'the reader sees the writer’s edit');
    reader.awareness.setLocalStateField('user', { name: 'reader' });
    await waitFor(
      () => [...writer.awareness.getStates().values()].some((s) => s.user?.name === 'reader'),
      'the writer sees the reader’s presence',
    );
    reader.doc.getText('text').insert(0, 'NOT ');
    writer.doc.getText('text').insert(5, '!');
    await waitFor(() => text(reader).includes('!'), 'the writer’s later edit reaches the reader');
    const late = await synced(
      await withToken(nodes[0]!, 'doc-read', { sub: 'l', rooms: { 'doc-*': 'read' } }),
    );
    assert.equal(text(late), 'hello!', 'the reader’s edit was never stored');
    assert.equal(text(writer), 'hello!');
  });

  it('closes a Yjs socket with 4403 when its user is revoked on another node', async () => {
    const victim = await synced(
      await withToken(nodes[1]!, 'doc-kick', {
        sub: 'kicked',
        rooms: { 'doc-*': 'write' },
        iat: Math.floor(Date.now() / 1000) - 5,
      }),
    );
    const closed = nextClose(victim);
    await revokeUser(nodes[0]!, 'kicked', 'doc-kick');
    assert.equal(await within(closed, 'the victim’s close'), CloseCode.Revoked);
    victim.disconnect();
  });

  it('closes a Yjs socket with 4401 when its token expires', async () => {
    const expiring = await synced(
      await withToken(nodes[0]!, 'doc-exp', { sub: 'e', rooms: { 'doc-*': 'write' }, expiresIn: 2 }),
    );
    assert.equal(await within(nextClose(expiring), 'close at expiry', 5000), CloseCode.TokenExpired);
    expiring.disconnect();
  });
});
