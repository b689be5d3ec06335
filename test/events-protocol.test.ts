import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { CloseCode, ErrorCode } from '../src/core/errors';
import { handlers } from '../src/modules/handlers';
import type { SwarmNode } from '../src/node';
import { JsonClient, RequestError } from './helpers/client';
import { eventsUrl, startNode } from './helpers/nodes';
import { boom } from './helpers/test-events';
import { within } from './helpers/wait';

describe('JSON event protocol on one node', () => {
  let node: SwarmNode;
  const clients: JsonClient[] = [];
  const connect = async () => {
    const client = await JsonClient.connect(eventsUrl(node));
    clients.push(client);
    return client;
  };

  before(async () => {
    node = await startNode({ handlers: [...handlers, boom], env: { MAX_FRAME_BYTES: '1024' } });
  });
  after(async () => {
    for (const client of clients) client.socket.terminate();
    await node.close();
  });

  it('says welcome with the node and connection id', async () => {
    const client = await connect();
    assert.equal(client.welcome.node, node.id);
    assert.match(client.welcome.conn, /^[0-9a-f-]{36}$/);
  });

  it('answers node.info with the node id', async () => {
    const client = await connect();
    const answer = (await client.request('node.info')) as { node: string; backend: string };
    assert.equal(answer.node, node.id);
    assert.equal(answer.backend, 'memory');
  });

  it('delivers a chat message to every member with its offset and sender, and acks it', async () => {
    const [a, b] = [await connect(), await connect()];
    await a.join('chat-1');
    await b.join('chat-1');
    const ack = (await a.request('chat.message', { room: 'chat-1', data: { text: '  hello  ' } })) as {
      offset: number;
    };
    const got = await b.next((f) => f.type === 'chat.message', 'chat message on b');
    assert.deepEqual((got.data as { text: string }).text, 'hello');
    assert.equal(got.offset, ack.offset);
    assert.equal(got.from?.conn, a.welcome.conn);
    assert.equal(got.from?.user, a.welcome.user);
    await a.next((f) => f.type === 'chat.message', 'own message echoed to sender');
  });

  it('gives a late joiner the members and the key/value state', async () => {
    const [a, b] = [await connect(), await connect()];
    await a.join('late-1');
    await a.request('room.state.set', { room: 'late-1', data: { key: 'topic', value: { title: 'plans' } } });
    const changed = await a.next((f) => f.type === 'room.state.changed', 'state change');
    assert.deepEqual(changed.data, { key: 'topic', value: { title: 'plans' } });
    const join = await b.join('late-1');
    assert.deepEqual(join.state, { topic: { title: 'plans' } });
    assert.deepEqual(join.members.map((m) => m.conn).sort(), [a.welcome.conn, b.welcome.conn].sort());
    const joined = await a.next(
      (f) => f.type === 'room.member.joined' && (f.data as { conn: string }).conn === b.welcome.conn,
      'member joined',
    );
    assert.equal((joined.data as { node: string }).node, node.id);
  });

  it('replays what a member missed when it joins again with since', async () => {
    const [a, b] = [await connect(), await connect()];
    const first = await a.join('since-1');
    await b.join('since-1');
    const seen = (await b.request('chat.message', { room: 'since-1', data: { text: 'one' } })) as {
      offset: number;
    };
    await b.close();
    await a.request('chat.message', { room: 'since-1', data: { text: 'two' } });
    await a.request('chat.message', { room: 'since-1', data: { text: 'three' } });
    const again = await connect();
    const join = await again.join('since-1', { since: seen.offset, epoch: first.epoch || undefined });
    assert.equal(join.recovered, true);
    const replayed = await again.next(
      (f) => f.type === 'chat.message' && (f.data as { text: string }).text === 'three',
      'replay',
    );
    const texts = again.events('since-1', 'chat.message').map((f) => (f.data as { text: string }).text);
    assert.deepEqual(texts, ['two', 'three']);
    assert.ok(replayed.offset! <= join.offset);
  });

  it('says recovered: false when the history does not reach back that far', async () => {
    const client = await connect();
    const join = await client.join('since-2', { since: 50, epoch: 'some-other-epoch' });
    assert.equal(join.recovered, false);
  });

  it('tells the room when a member leaves or its socket closes', async () => {
    const [a, b, c] = [await connect(), await connect(), await connect()];
    for (const client of [a, b, c]) await client.join('leave-1');
    await b.request('room.leave', { data: { room: 'leave-1' } });
    await a.next(
      (f) => f.type === 'room.member.left' && (f.data as { conn: string }).conn === b.welcome.conn,
      'b left',
    );
    await c.close();
    await a.next(
      (f) => f.type === 'room.member.left' && (f.data as { conn: string }).conn === c.welcome.conn,
      'c left',
    );
    const err = await b.expectError({ type: 'chat.message', room: 'leave-1', data: { text: 'x' } });
    assert.equal(err.code, ErrorCode.NotJoined);
  });

  describe('bad input', () => {
    it('answers bad JSON, non-objects, unknown types and bad data with error frames and stays open', async () => {
      const client = await connect();
      client.send('{not json');
      const badJson = await client.next(
        (f) => f.type === 'error' && f.code === ErrorCode.BadJson,
        'bad_json',
      );
      assert.equal(badJson.id, undefined);
      client.send('[1]');
      await client.next((f) => f.type === 'error' && f.code === ErrorCode.BadFrame, 'bad_frame');
      client.send({ type: 42, id: 'bf-1' });
      const badType = await client.next(
        (f) => f.type === 'error' && f.id === 'bf-1',
        'bad_frame with its id',
      );
      assert.equal(badType.code, ErrorCode.BadFrame, 'an object frame with a bad type keeps its id');
      const unknown = await client.expectError({ type: 'no.such.type', data: {} });
      assert.equal(unknown.code, ErrorCode.UnknownType);
      assert.match(unknown.id as string, /^e/);
      await client.join('bad-1');
      const invalid = await client.expectError({ type: 'chat.message', room: 'bad-1', data: { text: 42 } });
      assert.equal(invalid.code, ErrorCode.InvalidData);
      assert.match(invalid.id as string, /^e/, 'invalid_data echoes the id');
      assert.match(invalid.message!, /text/);
      const answer = (await client.request('node.info')) as { node: string };
      assert.equal(answer.node, node.id, 'the connection still works');
    });

    it('refuses server-only event types as unknown', async () => {
      const client = await connect();
      await client.join('bad-2');
      const err = await client.expectError({
        type: 'room.member.joined',
        room: 'bad-2',
        data: { conn: 'x', user: 'y', node: 'z' },
      });
      assert.equal(err.code, ErrorCode.UnknownType);
    });

    it('refuses an event for a room the connection has not joined', async () => {
      const client = await connect();
      const err = await client.expectError({ type: 'chat.message', room: 'not-mine', data: { text: 'x' } });
      assert.equal(err.code, ErrorCode.NotJoined);
    });

    it('refuses a room event without a room as bad_frame', async () => {
      const client = await connect();
      const err = await client.expectError({ type: 'chat.message', data: { text: 'x' } });
      assert.equal(err.code, ErrorCode.BadFrame);
    });

    it('answers a throwing handler with internal and keeps serving everyone', async () => {
      const [a, b] = [await connect(), await connect()];
      await a.join('boom-1');
      await b.join('boom-1');
      const err = await a.expectError({ type: 'test.boom', data: {} });
      assert.equal(err.code, ErrorCode.Internal);
      await a.request('chat.message', { room: 'boom-1', data: { text: 'after' } });
      await b.next((f) => f.type === 'chat.message', 'message after the failure');
    });

    it('closes a socket that sends a frame over the size limit with 1009 and the limit as reason, and only that one', async () => {
      const [big, other] = [await connect(), await connect()];
      big.send(JSON.stringify({ type: 'node.info', data: { pad: 'x'.repeat(2000) } }));
      const { code, reason } = await within(big.closed, 'close after a big frame');
      assert.equal(code, CloseCode.MessageTooBig);
      assert.equal(reason, `frame over ${node.config.maxFrameBytes} bytes (MAX_FRAME_BYTES)`);
      assert.ok(await other.request('node.info'));
    });

    it('answers a binary frame on /events with bad_frame', async () => {
      const client = await connect();
      client.socket.send(Buffer.from([1, 2, 3]));
      await client.next((f) => f.type === 'error' && f.code === ErrorCode.BadFrame, 'bad_frame for binary');
    });

    it('refuses an upgrade on an unknown path with 404', async () => {
      const socket = new WebSocket(`ws://127.0.0.1:${node.port}/nowhere`);
      const status = await within(
        new Promise<number>((resolve) =>
          socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
        ),
        '404',
      );
      socket.on('error', () => {});
      assert.equal(status, 404);
    });
  });

  it('rejects a request error as RequestError in the helper', async () => {
    const client = await connect();
    await assert.rejects(client.request('room.join', { data: { room: '' } }), RequestError);
  });
});

describe('HTTP endpoints', () => {
  it('answers /healthz and /readyz with the node id', async () => {
    const node = await startNode();
    try {
      const health = await fetch(`http://127.0.0.1:${node.port}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(((await health.json()) as { node: string }).node, node.id);
      const ready = await fetch(`http://127.0.0.1:${node.port}/readyz`);
      assert.equal(ready.status, 200);
    } finally {
      await node.close();
    }
  });
});
