import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SwarmClientError } from '../../src/client';
import { CloseCode, ErrorCode } from '../../src/core/errors';
import { revokeUser } from '../../src/modules/auth/revoke';
import type { SwarmNode } from '../../src/node';
import { startAuthNodes, token } from '../auth/auth-helpers';
import { LibraryClients, recordStates, untilStatus } from '../helpers/library-client';
import { eventsUrl } from '../helpers/nodes';
import { waitFor } from '../helpers/wait';

const LOBBY = { lobby: 'write' } as const;

async function rejectsClosed(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (err: SwarmClientError) => err.code === 'closed');
}

describe('the client library and tokens', () => {
  let node: SwarmNode;
  const clients = new LibraryClients();
  const url = () => eventsUrl(node);

  before(async () => {
    [node] = (await startAuthNodes(1)) as [SwarmNode];
  });
  after(async () => {
    clients.closeAll();
    await node.close();
  });

  it('refreshes a token in band before it expires: the connection stays open past the old expiry', async () => {
    let asked = 0;
    const client = clients.open({
      url: url(),
      token: await token({ sub: 'ada', expiresIn: 2 }),
      getToken: () => {
        asked++;
        return token({ sub: 'ada', expiresIn: 60 });
      },
    });
    const states = recordStates(client);
    // The control has no getToken: the node closes it at expiry, a second after the first one's old exp.
    const control = clients.open({ url: url(), token: await token({ sub: 'bob', expiresIn: 3 }) });
    await untilStatus(client, 'open');
    const closed = await untilStatus(control, 'closed', 8000);
    assert.equal(closed.code, CloseCode.TokenExpired);
    assert.equal(closed.byApp, false);
    assert.ok(asked >= 1, 'getToken was asked before expiry');
    assert.equal(client.state.status, 'open');
    assert.deepEqual(
      states.map((s) => s.status),
      ['connecting', 'open'],
      'one connection, never closed',
    );
    // The node holds the new token: events still go through.
    assert.ok((await client.request('node.info', {})).node);
  });

  it('reconnects with a new token from getToken after a 4401 close', async () => {
    // The refresh fails (a token of another user), so the old one runs out: 4401, then getToken again.
    const tokens = [
      token({ sub: 'eve', expiresIn: 60, rooms: LOBBY }),
      token({ sub: 'cy', expiresIn: 60, rooms: LOBBY }),
    ];
    const client = clients.open({
      url: url(),
      token: await token({ sub: 'cy', expiresIn: 2, rooms: LOBBY }),
      getToken: () => tokens.shift() ?? token({ sub: 'cy', expiresIn: 60, rooms: LOBBY }),
      onError: () => {},
    });
    const states = recordStates(client);
    const lobby = client.join('lobby');
    await lobby.ready;
    await waitFor(
      () => states.some((s) => s.status === 'reconnecting' && s.lastClose.code === CloseCode.TokenExpired),
      'the 4401 close',
      6000,
    );
    await untilStatus(client, 'open');
    await waitFor(() => lobby.status === 'joined', 'the room rejoined');
    assert.equal(states.filter((s) => s.status === 'open').length, 2);
  });

  it('stops reconnecting, with the reason, when the user is revoked', async () => {
    const client = clients.open({
      url: url(),
      token: await token({ sub: 'mallory', rooms: LOBBY }),
      getToken: () => token({ sub: 'mallory', rooms: LOBBY }),
    });
    const lobby = client.join('lobby');
    await lobby.ready;
    await revokeUser(node, 'mallory', undefined, 'abuse');
    const closed = await untilStatus(client, 'closed');
    assert.equal(closed.code, CloseCode.Revoked);
    assert.match(closed.reason, /revoked/);
    assert.equal(lobby.status, 'closed');
    assert.match(lobby.error?.message ?? '', /revoked/);
    const mallorys = () => [...node.connections.all()].filter((conn) => conn.identity.user === 'mallory');
    await waitFor(() => mallorys().length === 0, 'the node to drop the socket');
    // 'closed' is final: a retry would have gone through 'reconnecting' instead, and a token
    // from getToken, issued after the revocation, would have been let in again.
    await rejectsClosed(client.request('node.info', {}));
    assert.equal(mallorys().length, 0);
  });

  it('fails a room the token does not grant with forbidden, and does not retry it', async () => {
    const client = clients.open({
      url: url(),
      token: await token({ sub: 'ann', rooms: { 'team-*': 'write' } }),
    });
    const mine = client.join('team-1');
    const other = client.join('elsewhere');
    await mine.ready;
    await assert.rejects(other.ready, (err: SwarmClientError) => err.code === ErrorCode.Forbidden);
    assert.equal(other.status, 'failed');
    assert.equal(other.error?.code, ErrorCode.Forbidden);
    assert.equal(client.state.status, 'open', 'the client and its other rooms carry on');
    assert.equal(mine.status, 'joined');
  });
});
