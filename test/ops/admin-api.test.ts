import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode } from '../../src/core/errors';
import { adminExtension } from '../../src/modules/admin/admin-api';
import type { SwarmNode } from '../../src/node';
import { startAuthNodes, token, upgrade } from '../auth/auth-helpers';
import { JsonClient } from '../helpers/client';
import { eventsUrl, startNode, startNodes } from '../helpers/nodes';
import { within } from '../helpers/wait';

const TOKEN = 'test-admin-token-0123456789';

/** Calls the admin API of `node` and returns the status and the parsed JSON body. */
async function api(
  node: SwarmNode,
  method: string,
  path: string,
  options: { token?: string | null; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const token = options.token === undefined ? TOKEN : options.token;
  const res = await fetch(`http://127.0.0.1:${node.port}${path}`, {
    method,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    body:
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

describe('admin API without ADMIN_TOKEN', () => {
  it('is off: every /api/ path answers 404, with or without a token', async () => {
    const node = await startNode({ extensions: [adminExtension(undefined)] });
    try {
      assert.equal((await api(node, 'GET', '/api/nodes')).status, 404);
      assert.equal((await api(node, 'GET', '/api/nodes', { token: null })).status, 404);
      assert.equal(
        (await api(node, 'POST', '/api/rooms/x/events', { body: { type: 'chat.message' } })).status,
        404,
      );
    } finally {
      await node.close();
    }
  });
});

describe('admin API', () => {
  let nodes: SwarmNode[];
  const clients: JsonClient[] = [];
  const connect = async (node: SwarmNode) => {
    const client = await JsonClient.connect(eventsUrl(node));
    clients.push(client);
    return client;
  };

  before(async () => {
    // A module's section of the room inspection, as the Yjs module adds its log size.
    const inspectors = { extra: async (room: string) => ({ inspected: room }) };
    nodes = await startNodes(2, { extensions: [adminExtension(TOKEN, { inspectors })] });
  });
  after(async () => {
    for (const client of clients) client.socket.terminate();
    for (const node of nodes) await node.close();
  });

  for (const [what, token] of [
    ['a missing', null],
    ['a wrong', 'not-the-token-0123456789'],
    ['an empty', ''],
  ] as const) {
    it(`refuses ${what} bearer token with 401 before looking at the request`, async () => {
      const res = await api(nodes[0]!, 'GET', '/api/nodes', { token });
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.equal((await api(nodes[0]!, 'POST', '/api/no/such/path', { token })).status, 401);
    });
  }

  it('answers 404 with a message for an unknown admin path', async () => {
    const res = await api(nodes[0]!, 'GET', '/api/nope');
    assert.equal(res.status, 404);
    assert.match(String(res.body.error), /no admin endpoint GET \/api\/nope/);
  });

  it('lists every live node with its load, this node with its current figures', async () => {
    const [a, b] = nodes as [SwarmNode, SwarmNode];
    const client = await connect(a);
    await client.join('admin-load');
    const res = await api(b, 'GET', '/api/nodes');
    assert.equal(res.status, 200);
    assert.equal(res.body.self, b.id);
    const list = res.body.nodes as Array<{ id: string; connections: number; rooms: number; self: boolean }>;
    // Both nodes of this cluster (the third node has a cluster of its own).
    assert.deepEqual(list.map((n) => n.id).sort(), [a.id, b.id].sort());
    assert.equal(list.find((n) => n.id === b.id)?.self, true);
    assert.equal(list.find((n) => n.id === a.id)?.self, false);
    const own = await api(a, 'GET', '/api/nodes');
    const self = (own.body.nodes as typeof list).find((n) => n.id === a.id)!;
    assert.equal(self.connections, a.connections.size);
    assert.equal(self.rooms, 1);
    await client.close();
  });

  it('inspects a room: members on every node and the offsets of its streams', async () => {
    const [a, b] = nodes as [SwarmNode, SwarmNode];
    const onA = await connect(a);
    const onB = await connect(b);
    await onA.join('admin/room 1');
    await onB.join('admin/room 1');
    await onA.request('chat.message', { room: 'admin/room 1', data: { text: 'hi' } });
    const res = await api(b, 'GET', `/api/rooms/${encodeURIComponent('admin/room 1')}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.room, 'admin/room 1');
    const members = res.body.members as {
      total: number;
      byNode: Record<string, Array<{ conn: string; user: string }>>;
    };
    assert.equal(members.total, 2);
    assert.deepEqual(members.byNode[a.id], [{ conn: onA.welcome.conn, user: onA.welcome.user }]);
    assert.deepEqual(members.byNode[b.id], [{ conn: onB.welcome.conn, user: onB.welcome.user }]);
    const history = res.body.history as Record<string, { offset: number; epoch: string }>;
    // Two joins and one chat message.
    assert.equal(history.events?.offset, 3);
    assert.deepEqual(Object.keys(history), ['events'], 'only the streams the node’s events declare');
    assert.deepEqual(res.body.extra, { inspected: 'admin/room 1' });
  });

  it('publishes an event to a room from the backend: members on every node get it, with its offset', async () => {
    const [a, b] = nodes as [SwarmNode, SwarmNode];
    const onA = await connect(a);
    const onB = await connect(b);
    await onA.join('admin-publish');
    await onB.join('admin-publish');
    const res = await api(a, 'POST', '/api/rooms/admin-publish/events', {
      body: { type: 'chat.message', data: { text: '  from the backend ' } },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.type, 'chat.message');
    assert.equal(typeof res.body.offset, 'number');
    for (const client of [onA, onB]) {
      const frame = await client.next(
        (f) => f.type === 'chat.message' && f.room === 'admin-publish',
        'the event',
      );
      assert.equal(frame.offset, res.body.offset);
      assert.equal((frame.data as { text: string }).text, 'from the backend');
      assert.deepEqual(frame.from, { node: a.id });
    }
  });

  for (const [what, body, status, message] of [
    ['a body that is not JSON', '{"type":', 400, /not valid JSON/],
    ['a body without a type', { data: {} }, 400, /type/],
    ['an undeclared type', { type: 'no.such' }, 400, /no event type "no\.such"/],
    ['a type that is not room scope', { type: 'node.info' }, 400, /scope local/],
    ['data the schema refuses', { type: 'chat.message', data: { text: '' } }, 400, /invalid data/],
    ['a body over 64 KiB', { type: 'chat.message', data: { text: 'x'.repeat(70_000) } }, 413, /larger/],
  ] as const) {
    it(`refuses to publish ${what} with ${status} and a message`, async () => {
      const res = await api(nodes[0]!, 'POST', '/api/rooms/admin-bad/events', { body });
      assert.equal(res.status, status);
      assert.match(String(res.body.error), message);
    });
  }

  it('answers 501 to a revoke when the auth module is not installed', async () => {
    const res = await api(nodes[0]!, 'POST', '/api/users/alice/revoke');
    assert.equal(res.status, 501);
    assert.match(String(res.body.error), /user\.revoke/);
  });
});

describe('admin API with the auth module', () => {
  let nodes: SwarmNode[];
  const clients: JsonClient[] = [];
  const connectAs = async (node: SwarmNode, user: string) => {
    const jwt = await token({ sub: user, rooms: { '*': 'write' } });
    const client = await JsonClient.connect(eventsUrl(node, `?token=${jwt}`));
    clients.push(client);
    return client;
  };
  before(async () => {
    nodes = await startAuthNodes(2, { extensions: () => [adminExtension(TOKEN)] });
  });
  after(async () => {
    for (const client of clients) client.socket.terminate();
    for (const node of nodes) await node.close();
  });

  it('revokes a user on every node: their sockets close with 4403 and their tokens are refused', async () => {
    const [a, b] = nodes as [SwarmNode, SwarmNode];
    const onA = await connectAs(a, 'alice');
    const onB = await connectAs(b, 'alice');
    const bob = await connectAs(a, 'bob');
    const res = await api(b, 'POST', '/api/users/alice/revoke', { body: { reason: 'left the team' } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { user: 'alice', revoked: true });
    for (const client of [onA, onB])
      assert.equal((await within(client.closed, 'close')).code, CloseCode.Revoked);
    assert.equal(bob.socket.readyState, bob.socket.OPEN);
    const jwt = await token({
      sub: 'alice',
      rooms: { '*': 'write' },
      iat: Math.floor(Date.now() / 1000) - 5,
    });
    assert.equal((await upgrade(eventsUrl(a, `?token=${jwt}`))).status, 403);
  });

  it('revokes a user in one room only, and refuses a bad room name with 400', async () => {
    const [a] = nodes as [SwarmNode];
    const carol = await connectAs(a, 'carol');
    await carol.join('secret');
    const res = await api(a, 'POST', '/api/users/carol/revoke', { body: { room: 'secret' } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { user: 'carol', room: 'secret', revoked: true });
    assert.equal((await within(carol.closed, 'close')).code, CloseCode.Revoked);
    const bad = await api(a, 'POST', '/api/users/carol/revoke', { body: { room: '' } });
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.error), /room/);
  });
});
