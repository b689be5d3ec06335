import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, ErrorCode } from '../../src/core/errors';
import type { SwarmNode } from '../../src/node';
import { JsonClient } from '../helpers/client';
import { eventsUrl } from '../helpers/nodes';
import { within } from '../helpers/wait';
import { type Claims, startAuthNodes, token } from './auth-helpers';

describe('token expiry and auth.refresh', () => {
  let node: SwarmNode;
  const clients: JsonClient[] = [];
  const connect = async (claims: Claims) => {
    const client = await JsonClient.connect(eventsUrl(node, `?token=${await token(claims)}`));
    clients.push(client);
    return client;
  };

  before(async () => {
    [node] = (await startAuthNodes(1)) as [SwarmNode];
  });
  after(async () => {
    for (const client of clients) client.socket.terminate();
    await node.close();
  });

  it('closes the connection with 4401 when the token expires', async () => {
    // exp is in whole seconds: 1 s from now may already have passed by the time a busy
    // machine verifies the upgrade (a 401, not this test's subject); 2 s is at least 1 s.
    const client = await connect({ sub: 'u1', expiresIn: 2 });
    const closed = await within(client.closed, 'close at expiry', 5000);
    assert.equal(closed.code, CloseCode.TokenExpired);
  });

  it('keeps a connection that sent a fresh token before expiry open past the old exp', async () => {
    // exp is in whole seconds, so 2 s from now may be only just over 1 s away.
    const client = await connect({ sub: 'u1', expiresIn: 2, rooms: { 'doc-*': 'write' } });
    const control = await connect({ sub: 'u9', expiresIn: 3 });
    const answer = (await client.request('auth.refresh', {
      data: { token: await token({ sub: 'u1', expiresIn: 60, rooms: { 'doc-*': 'write' } }) },
    })) as { user: string; expiresAt: number };
    assert.equal(answer.user, 'u1');
    assert.ok(answer.expiresAt > Date.now() / 1000 + 30);
    // The control connection expires a second after the refreshed one would have.
    assert.equal((await within(control.closed, 'control expiry', 6000)).code, CloseCode.TokenExpired);
    await client.join('doc-still-open');
    assert.equal(client.socket.readyState, client.socket.OPEN);
  });

  it('refuses a refresh token for another user, a forged one or an expired one with invalid_token', async () => {
    const client = await connect({ sub: 'u1' });
    const cases = {
      'another sub': await token({ sub: 'u2' }),
      forged: await token({ sub: 'u1' }, 'another-secret-of-at-least-thirty-two-bytes'),
      expired: await token({ sub: 'u1', expiresIn: -5 }),
    };
    for (const [what, jwt] of Object.entries(cases)) {
      const err = await client.expectError({ type: 'auth.refresh', data: { token: jwt } });
      assert.equal(err.code, ErrorCode.InvalidToken, what);
    }
    assert.equal(client.socket.readyState, client.socket.OPEN, 'a refused refresh keeps the old token');
  });

  it('applies the new grants of a refreshed token: rooms no longer granted are left', async () => {
    const client = await connect({ sub: 'u1', rooms: { 'a-*': 'write', 'b-*': 'write' } });
    const watcher = await connect({ sub: 'w', rooms: { '*': 'read' } });
    await client.join('a-1');
    await client.join('b-1');
    await watcher.join('b-1');
    await client.request('auth.refresh', {
      data: { token: await token({ sub: 'u1', rooms: { 'a-*': 'read' } }) },
    });
    await watcher.next(
      (f) => f.type === 'room.member.left' && (f.data as { conn: string }).conn === client.welcome.conn,
      'the client left b-1',
    );
    const err = await client.expectError({ type: 'chat.message', room: 'a-1', data: { text: 'x' } });
    assert.equal(err.code, ErrorCode.Forbidden, 'write became read');
    const left = await client.expectError({ type: 'chat.message', room: 'b-1', data: { text: 'x' } });
    assert.equal(left.code, ErrorCode.NotJoined);
  });
});
