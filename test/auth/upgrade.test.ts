import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { ErrorCode } from '../../src/core/errors';
import { refuseUpgrade } from '../../src/core/http/respond';
import { TOKEN_PROTOCOL_PREFIX } from '../../src/core/http/token-source';
import type { Extension, SwarmNode } from '../../src/node';
import { JsonClient, type RequestError } from '../helpers/client';
import { eventsUrl } from '../helpers/nodes';
import { type Claims, startAuthNodes, token, unsignedToken, upgrade } from './auth-helpers';

/**
 * A stand-in for the Yjs endpoint's upgrade: it asks the node's authenticate hook with
 * the room, exactly as /yjs/<room> does, and opens a bare socket when allowed.
 */
function roomEndpoint(): Extension {
  const sockets = new WebSocketServer({ noServer: true });
  return {
    name: 'test-room-endpoint',
    install(node) {
      node.addUpgrade('/rooms/', (req, socket, head, url) => {
        const room = decodeURIComponent(url.pathname.slice('/rooms/'.length));
        void node.authenticate(req, url, room).then((decision) => {
          if (!decision.ok) return refuseUpgrade(socket, decision.status, decision.message);
          sockets.handleUpgrade(req, socket, head, () => {});
        });
      });
    },
    close() {
      for (const socket of sockets.clients) socket.terminate();
    },
  };
}

describe('tokens at the WebSocket upgrade', () => {
  let node: SwarmNode;
  const clients: JsonClient[] = [];
  const connect = async (claims: Claims) => {
    const client = await JsonClient.connect(eventsUrl(node, `?token=${await token(claims)}`));
    clients.push(client);
    return client;
  };
  const status = async (query: string, protocols?: string[]) => {
    const outcome = await upgrade(eventsUrl(node, query), protocols);
    outcome.socket?.terminate();
    return outcome.status;
  };

  before(async () => {
    [node] = (await startAuthNodes(1, { extensions: () => [roomEndpoint()] })) as [SwarmNode];
  });
  after(async () => {
    for (const client of clients) client.socket.terminate();
    await node.close();
  });

  it('refuses an upgrade without a token with 401', async () => {
    assert.equal(await status(''), 401);
  });

  it('refuses forged, wrongly signed, expired, alg none, garbage and oversized tokens with 401', async () => {
    const forged = await token({ sub: 'u1' }, 'another-secret-of-at-least-thirty-two-bytes');
    const valid = await token({ sub: 'u1', rooms: { lobby: 'read' } });
    const [header, , signature] = valid.split('.');
    const escalated = Buffer.from(JSON.stringify({ sub: 'u1', rooms: { '*': 'write' } })).toString(
      'base64url',
    );
    const cases: Record<string, string> = {
      forged,
      'payload swapped under a valid signature': `${header}.${escalated}.${signature}`,
      expired: await token({ sub: 'u1', expiresIn: -10 }),
      'alg none': unsignedToken({ sub: 'u1', rooms: { '*': 'write' } }),
      garbage: 'not-a-jwt',
      'no sub': await token({ sub: '' }),
      'bad rooms claim': await token({ sub: 'u1', rooms: { lobby: 'admin' } as never }),
      oversized: await token({ sub: 'u1', pad: 'x'.repeat(5000) }),
    };
    for (const [what, bad] of Object.entries(cases)) {
      assert.equal(await status(`?token=${bad}`), 401, what);
    }
    // Past Node's 16 KiB header limit the HTTP parser answers before any of our code runs.
    assert.equal(await status(`?token=${await token({ sub: 'u1', pad: 'x'.repeat(20_000) })}`), 431);
  });

  it('accepts a token from ?token=, from Authorization: Bearer, and from the subprotocol list', async () => {
    const jwt = await token({ sub: 'u1' });
    assert.equal(await status(`?token=${jwt}`), 101);
    const bearer = await upgrade(eventsUrl(node), undefined, { headers: { authorization: `Bearer ${jwt}` } });
    assert.equal(bearer.status, 101);
    bearer.socket?.terminate();
    const viaProtocol = await upgrade(eventsUrl(node), ['swarmcast', `${TOKEN_PROTOCOL_PREFIX}${jwt}`]);
    assert.equal(viaProtocol.status, 101);
    assert.equal(viaProtocol.protocol, 'swarmcast', 'the server answers the real subprotocol, not the token');
    viaProtocol.socket?.terminate();
    const tokenOnly = await upgrade(eventsUrl(node), [`${TOKEN_PROTOCOL_PREFIX}${jwt}`]);
    assert.equal(tokenOnly.status, 101);
    assert.equal(tokenOnly.protocol, `${TOKEN_PROTOCOL_PREFIX}${jwt}`, 'echoed so that browsers accept');
    tokenOnly.socket?.terminate();
    assert.equal(await status('', [`${TOKEN_PROTOCOL_PREFIX}forged`]), 401);
  });

  it('refuses a room upgrade the token grants nothing for with 403, and accepts a granted one', async () => {
    const jwt = await token({ sub: 'u1', rooms: { 'doc-*': 'write', lobby: 'read' } });
    const room = async (name: string, query: string) => {
      const outcome = await upgrade(`ws://127.0.0.1:${node.port}/rooms/${encodeURIComponent(name)}${query}`);
      outcome.socket?.terminate();
      return outcome.status;
    };
    assert.equal(await room('secret', `?token=${jwt}`), 403);
    assert.equal(await room('doc-1', ''), 401);
    assert.equal(await room('doc-1', `?token=${jwt}`), 101);
    assert.equal(await room('lobby', `?token=${jwt}`), 101, 'read access is enough to connect');
  });

  it('shows the token’s sub as the user, whatever the client claims', async () => {
    const client = await connect({ sub: 'alice', rooms: { 'chat-*': 'write' } });
    assert.equal(client.welcome.user, 'alice');
    await client.join('chat-1');
    client.send({
      type: 'chat.message',
      room: 'chat-1',
      data: { text: 'hi' },
      from: { user: 'mallory', node: 'x', conn: 'y' },
      user: 'mallory',
    });
    const got = await client.next((f) => f.type === 'chat.message', 'own message');
    assert.equal(got.from?.user, 'alice');
    assert.equal(got.from?.conn, client.welcome.conn);
  });

  it('answers room.join of a room the token does not grant with forbidden', async () => {
    const client = await connect({ sub: 'u2', rooms: { 'doc-*': 'write' } });
    const err = await client.expectError({ type: 'room.join', data: { room: 'secret' } });
    assert.equal(err.code, ErrorCode.Forbidden);
    await client.join('doc-9');
  });

  it('lets a reader receive room events but not send those that need write', async () => {
    const writer = await connect({ sub: 'w', rooms: { 'doc-*': 'write' } });
    const reader = await connect({ sub: 'r', rooms: { 'doc-*': 'read' } });
    await writer.join('doc-read');
    await reader.join('doc-read');
    for (const frame of [
      { type: 'chat.message', room: 'doc-read', data: { text: 'no' } },
      { type: 'room.state.set', room: 'doc-read', data: { key: 'k', value: 1 } },
    ]) {
      const err = await reader.expectError(frame);
      assert.equal(err.code, ErrorCode.Forbidden, frame.type);
    }
    await writer.request('chat.message', { room: 'doc-read', data: { text: 'yes' } });
    const got = await reader.next((f) => f.type === 'chat.message', 'the writer’s message');
    assert.equal((got.data as { text: string }).text, 'yes');
    assert.equal(
      reader.events('doc-read', 'chat.message').length,
      1,
      'only the writer’s message was published',
    );
  });

  it('hides the server-only revoke event from clients', async () => {
    const client = await connect({ sub: 'u3', rooms: { '*': 'write' } });
    await assert.rejects(
      client.request('user.revoke', { data: { user: 'u1', at: 0 } }),
      (err: RequestError) => err.frame.code === ErrorCode.UnknownType,
    );
  });
});
