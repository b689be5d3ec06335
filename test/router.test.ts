import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { z } from 'zod';
import { MemoryBackend } from '../src/backend/memory/memory-backend';
import type { Authorizer } from '../src/core/access-hooks';
import { ConnectionTable } from '../src/core/connection-table';
import { ErrorCode } from '../src/core/errors';
import { builtinEvents } from '../src/core/events/builtin';
import type { NodeServices } from '../src/core/events/event-definition';
import { defineEvent } from '../src/core/events/event-definition';
import { EventRegistry } from '../src/core/events/registry';
import { Router } from '../src/core/events/router';
import { createLogger } from '../src/core/log';
import { RoomHub } from '../src/core/rooms/room-hub';
import { handlers } from '../src/modules/handlers';
import { FakeConnection } from './helpers/fake-connection';
import { waitFor } from './helpers/wait';

const seen: string[] = [];
const echo = defineEvent({
  type: 'test.echo',
  scope: 'local',
  access: 'connect',
  data: z.object({ n: z.number().default(1) }),
  handle: (ctx) => ({ twice: ctx.data.n * 2, user: ctx.from.user }),
});
const everywhere = defineEvent({
  type: 'test.everywhere',
  scope: 'cluster',
  access: 'connect',
  data: z.object({}),
  handle: (ctx) => void seen.push(`${ctx.node.id}:${ctx.origin.kind}`),
});
const typing = defineEvent({
  type: 'test.typing',
  scope: 'room',
  access: 'write',
  stream: null,
  data: z.object({}),
});
const refuse = defineEvent({
  type: 'test.refuse',
  scope: 'room',
  access: 'write',
  data: z.object({}),
  handle: (ctx) => ctx.fail('not today'),
});

function setup(authorize?: Authorizer) {
  const log = createLogger('silent', 'n1');
  const backend = new MemoryBackend('n1');
  const hub = new RoomHub(backend, log);
  const registry = new EventRegistry([...builtinEvents, ...handlers, echo, everywhere, typing, refuse]);
  const connections = new ConnectionTable();
  const services: NodeServices = {
    id: 'n1',
    backend,
    hub,
    connections,
    can: (conn, access, room) => router.can(conn, access, room),
    emit: (type, options) => router.emit(type, options),
    membershipStale: () => {},
  };
  const router: Router = new Router({
    node: 'n1',
    registry,
    backend,
    hub,
    services: () => services,
    log,
    authorize,
  });
  backend.bus.listen({
    room: (e) => hub.receive(e),
    cluster: (e) => void router.fromBus(e, e.from.node),
    resync: () => {},
  });
  return { router, backend, hub };
}

describe('Router', () => {
  let router: Router;
  let backend: MemoryBackend;
  beforeEach(() => {
    ({ router, backend } = setup());
  });

  it('runs a local handler with the validated data and acks its answer', async () => {
    const conn = new FakeConnection({ user: 'u1' });
    await router.fromSocket(conn, { type: 'test.echo', data: { n: 21 }, id: 'a' });
    assert.deepEqual(conn.acks, [{ id: 'a', answer: { twice: 42, user: 'u1' } }]);
  });

  it('applies schema defaults before the handler sees the data', async () => {
    const conn = new FakeConnection();
    await router.fromSocket(conn, { type: 'test.echo', data: undefined, id: 1 });
    assert.equal((conn.acks[0]!.answer as { twice: number }).twice, 2);
  });

  it('sends no ack for an accepted frame without an id', async () => {
    const conn = new FakeConnection();
    await router.fromSocket(conn, { type: 'test.echo', data: {} });
    assert.equal(conn.acks.length, 0);
    assert.equal(conn.errors.length, 0);
  });

  it('appends a room event to history, delivers it to members and acks its offset', async () => {
    const conn = new FakeConnection();
    await router.fromSocket(conn, { type: 'room.join', data: { room: 'r' }, id: 'j' });
    await router.fromSocket(conn, { type: 'chat.message', room: 'r', data: { text: 'x' }, id: 'm' });
    const ack = conn.acks.find((a) => a.id === 'm');
    const read = await backend.history.read('r', 'events', 0);
    const stored = read.events.find((e) => e.type === 'chat.message');
    assert.equal(stored?.offset, (ack!.answer as { offset: number }).offset);
    assert.equal(stored?.from.conn, conn.id);
    assert.ok(conn.delivered.some((e) => e.type === 'chat.message' && e.offset === stored?.offset));
  });

  it('publishes an ephemeral room event without an offset and keeps no history of it', async () => {
    const conn = new FakeConnection();
    await router.fromSocket(conn, { type: 'room.join', data: { room: 'eph' } });
    const before = await backend.history.head('eph', 'events');
    await router.fromSocket(conn, { type: 'test.typing', room: 'eph', data: {}, id: 't' });
    assert.deepEqual(await backend.history.head('eph', 'events'), before);
    const delivered = conn.delivered.find((e) => e.type === 'test.typing');
    assert.equal(delivered?.offset, undefined);
  });

  it('stores and publishes nothing when a room handler fails on purpose', async () => {
    const conn = new FakeConnection();
    await router.fromSocket(conn, { type: 'room.join', data: { room: 'no' } });
    const before = await backend.history.head('no', 'events');
    await router.fromSocket(conn, { type: 'test.refuse', room: 'no', data: {}, id: 'x' });
    assert.deepEqual(conn.errors.at(-1), { id: 'x', code: ErrorCode.Rejected, message: 'not today' });
    assert.deepEqual(await backend.history.head('no', 'events'), before);
  });

  it('asks the authorizer with the access the event type declares', async () => {
    const asked: string[] = [];
    const { router } = setup((_conn, access, room) => {
      asked.push(`${access}:${room}`);
      return access !== 'write';
    });
    const conn = new FakeConnection();
    await router.fromSocket(conn, { type: 'room.join', data: { room: 'ro' } });
    await router.fromSocket(conn, { type: 'chat.message', room: 'ro', data: { text: 'x' }, id: 'w' });
    assert.equal(conn.errors.at(-1)?.code, ErrorCode.Forbidden);
    assert.ok(asked.includes('read:ro'), 'room.join checks read access to the room');
    assert.ok(asked.includes('write:ro'));
  });

  it('lets server code emit server-only events without being a member', async () => {
    const result = await router.emit('room.member.joined', {
      room: 'srv',
      data: { conn: 'c', user: 'u', node: 'n' },
    });
    assert.equal(result.position?.offset, 1);
  });

  it('refuses server-emitted data that fails the schema', async () => {
    await assert.rejects(router.emit('chat.message', { room: 'r', data: { text: 5 } }), {
      code: ErrorCode.InvalidData,
    });
  });

  it('runs a cluster event here at once and on another node through the bus', async () => {
    // A second node on the first one's SharedMemory.
    const log = createLogger('silent', 'n2');
    const backend2 = new MemoryBackend('n2', backend.shared);
    const hub2 = new RoomHub(backend2, log);
    const services2: NodeServices = {
      id: 'n2',
      backend: backend2,
      hub: hub2,
      connections: new ConnectionTable(),
      can: () => true,
      emit: (type, options) => router2.emit(type, options),
      membershipStale: () => {},
    };
    const router2: Router = new Router({
      node: 'n2',
      registry: new EventRegistry([...builtinEvents, everywhere]),
      backend: backend2,
      hub: hub2,
      services: () => services2,
      log,
    });
    backend2.bus.listen({
      room: () => {},
      cluster: (e) => void router2.fromBus(e, e.from.node),
      resync: () => {},
    });
    seen.length = 0;
    await router.fromSocket(new FakeConnection(), { type: 'test.everywhere', data: {}, id: 'c' });
    await waitFor(() => seen.length === 2, 'handler on both nodes');
    assert.deepEqual(seen.sort(), ['n1:socket', 'n2:bus']);
  });
});
