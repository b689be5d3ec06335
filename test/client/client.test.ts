import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { z } from 'zod';
import { SharedMemory } from '../../src/backend/memory/shared-memory';
import { ClientErrorCode, connect, type SwarmClientError } from '../../src/client';
import { ErrorCode } from '../../src/core/errors';
import { defineEvent } from '../../src/core/events/event-definition';
import type { SwarmNode } from '../../src/node';
import {
  LibraryClients,
  offsetsOf,
  recordEvents,
  recordStates,
  untilStatus,
} from '../helpers/library-client';
import { eventsUrl, startNodes } from '../helpers/nodes';
import { TcpProxy } from '../helpers/tcp-proxy';
import { boom } from '../helpers/test-events';
import { waitFor } from '../helpers/wait';
import { appEvents } from './typed-app-events';

/** A local event whose handler takes `ms` to answer: a request in flight the test can cut. */
const slow = defineEvent({
  type: 'test.slow',
  scope: 'local',
  access: 'connect',
  data: z.object({ ms: z.number().int().min(0).max(5000) }),
  handle: async (ctx) => {
    await new Promise((resolve) => setTimeout(resolve, ctx.data.ms));
    return { slept: ctx.data.ms };
  },
});

const testEvents = [...appEvents, slow, boom];
type TestEvents = typeof testEvents;

/** Rejects unless `promise` rejects with a SwarmClientError of `code`; resolves with that error. */
async function rejectsWith(promise: Promise<unknown>, code: string): Promise<SwarmClientError> {
  try {
    await promise;
  } catch (err) {
    assert.equal((err as SwarmClientError).code, code, String(err));
    return err as SwarmClientError;
  }
  assert.fail(`expected a rejection with ${code}`);
}

const isCode = (code: string) => (err: unknown) => (err as SwarmClientError).code === code;

describe('the client library against two in-process nodes', () => {
  let nodes: SwarmNode[];
  let proxy: TcpProxy;
  const clients = new LibraryClients();
  let n = 0;
  const room = () => `room-${++n}`;
  /** A client straight to node two. */
  const direct = () => clients.open<TestEvents>({ url: eventsUrl(nodes[1]!) });
  /** A client to node one through the proxy, whose connection the test can cut. */
  const proxied = (options = {}) =>
    clients.open<TestEvents>({ url: `ws://127.0.0.1:${proxy.port}/events`, ...options });

  before(async () => {
    // A short history, so that a client away for long enough cannot be caught up.
    nodes = await startNodes(2, {
      cluster: new SharedMemory(20),
      handlers: [...appEvents, slow, boom],
    });
    proxy = await TcpProxy.start([nodes[0]!.port]);
  });
  after(async () => {
    clients.closeAll();
    await proxy.close();
    await Promise.all(nodes.map((node) => node.close()));
  });

  it('resolves an emit with its ack and hands every member, on every node, the typed event', async () => {
    const name = room();
    const ada = proxied();
    const grace = direct();
    const adaRoom = ada.join(name);
    const graceRoom = grace.join(name);
    const heard = recordEvents(graceRoom, ['chat.message']);
    await Promise.all([adaRoom.ready, graceRoom.ready]);
    const ack = await adaRoom.emit('chat.message', { text: '  hello  ' });
    const seen = await waitFor(() => heard[0], 'grace to hear ada');
    assert.deepEqual(seen.data, { text: 'hello', at: (seen.data as { at: number }).at });
    assert.equal(seen.meta.offset, ack.offset);
    assert.equal(seen.meta.from.user, (ada.state as { welcome: { user: string } }).welcome.user);
    assert.equal(graceRoom.offset, ack.offset);
  });

  it('keeps members and state current from the join answer and the room events', async () => {
    const name = room();
    const ada = proxied().join(name);
    await ada.ready;
    const grace = direct();
    const graceRoom = grace.join(name);
    await graceRoom.ready;
    assert.equal(graceRoom.members.length, 2);
    await waitFor(() => ada.members.length === 2, 'ada to see grace join');
    const { offset } = await graceRoom.setState('topic', 'plans');
    assert.ok(offset > 0);
    await waitFor(() => ada.state.topic === 'plans', 'ada to see the state change');
    await graceRoom.leave();
    assert.equal(graceRoom.status, 'left');
    await waitFor(() => ada.members.length === 1, 'ada to see grace leave');
    await rejectsWith(graceRoom.emit('chat.message', { text: 'x' }), ClientErrorCode.Closed);
  });

  it('gives back to the server a room left before its join was answered', async () => {
    const name = room();
    const client = direct();
    await untilStatus(client, 'open');
    const early = client.join(name);
    await early.leave();
    assert.equal(early.status, 'left');
    const other = direct().join(name);
    await other.ready;
    await waitFor(() => other.members.length === 1, 'the early leaver to be gone from the members');
  });

  it("rejects a refused emit or request with the server's error code, and answers local calls", async () => {
    const client = direct();
    const lobby = client.join(room());
    await lobby.ready;
    await rejectsWith(lobby.emit('chat.message', { text: '' }), ErrorCode.InvalidData);
    await rejectsWith(client.request('test.boom', {}), ErrorCode.Internal);
    const info = await client.request('node.info', {});
    assert.equal(info.node, nodes[1]!.id);
    const roll = await client.request('dice.roll', { sides: 6 });
    assert.ok(roll.value >= 1 && roll.value <= 6);
  });

  it('rejects with timeout an answer that does not come in time, saying it may have been stored', async () => {
    const client = direct();
    const err = await rejectsWith(
      client.request('test.slow', { ms: 400 }, { timeoutMs: 50 }),
      ClientErrorCode.Timeout,
    );
    assert.equal(err.mayHaveBeenStored, true);
  });

  it('rejects a request in flight when the connection drops with outcome_unknown, then reconnects', async () => {
    const client = proxied();
    await untilStatus(client, 'open');
    const inFlight = client.request('test.slow', { ms: 2000 });
    // The frame is on the wire before the cut: wait until the node has the connection's request.
    await waitFor(() => nodes[0]!.connections.size > 0, 'the connection on node one');
    proxy.cutAll();
    const err = await rejectsWith(inFlight, ClientErrorCode.OutcomeUnknown);
    assert.equal(err.mayHaveBeenStored, true);
    await untilStatus(client, 'open');
  });

  it('resumes a room after cut connections: each event once, in offset order, none missed', async () => {
    const name = room();
    const ada = proxied();
    const adaRoom = ada.join(name);
    const seen = recordEvents(adaRoom, ['chat.message', 'room.member.joined', 'room.member.left']);
    const resets: unknown[] = [];
    adaRoom.onReset((reset) => resets.push(reset));
    const states = recordStates(ada);
    await adaRoom.ready;
    const grace = direct().join(name);
    await grace.ready;
    const sent: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++)
        sent.push((await grace.emit('chat.message', { text: `r${round}-${i}` })).offset);
      proxy.cutAll();
      for (let i = 4; i < 8; i++)
        sent.push((await grace.emit('chat.message', { text: `r${round}-${i}` })).offset);
      await waitFor(() => (adaRoom.offset ?? 0) >= sent.at(-1)!, `ada to catch up in round ${round}`);
    }
    const { offsets, contiguous } = offsetsOf(seen);
    assert.ok(contiguous, `offsets ${offsets}`);
    for (const offset of sent) assert.ok(offsets.includes(offset), `missed ${offset}`);
    assert.deepEqual(resets, []);
    assert.ok(states.filter((s) => s.status === 'open').length >= 4, 'one welcome per connection');
    assert.ok(states.some((s) => s.status === 'reconnecting'));
  });

  it('queues emits made while disconnected and sends them, in order, after the rejoin', async () => {
    const name = room();
    const ada = proxied();
    const adaRoom = ada.join(name);
    await adaRoom.ready;
    const grace = direct().join(name);
    const heard = recordEvents(grace, ['chat.message']);
    await grace.ready;
    proxy.setTargets([]);
    proxy.cutAll();
    await untilStatus(ada, 'reconnecting');
    const queued = [1, 2, 3].map((i) => adaRoom.emit('chat.message', { text: `queued ${i}` }));
    proxy.setTargets([nodes[0]!.port]);
    const acks = await Promise.all(queued);
    assert.ok(acks[0]!.offset < acks[1]!.offset && acks[1]!.offset < acks[2]!.offset);
    await waitFor(() => heard.length === 3, 'grace to hear the queued lines');
    assert.deepEqual(
      heard.map((s) => (s.data as { text: string }).text),
      ['queued 1', 'queued 2', 'queued 3'],
    );
  });

  it('rejects emits made while disconnected with offline, when the app chose so or the queue is full', async () => {
    const rejecting = proxied({ offline: 'reject' });
    const bounded = proxied({ queueLimit: 2 });
    const rejectingRoom = rejecting.join(room());
    const boundedRoom = bounded.join(room());
    await Promise.all([rejectingRoom.ready, boundedRoom.ready]);
    proxy.setTargets([]);
    proxy.cutAll();
    await untilStatus(rejecting, 'reconnecting');
    await untilStatus(bounded, 'reconnecting');
    await rejectsWith(rejectingRoom.emit('chat.message', { text: 'x' }), ClientErrorCode.Offline);
    const kept = [
      boundedRoom.emit('chat.message', { text: '1' }),
      boundedRoom.emit('chat.message', { text: '2' }),
    ];
    await rejectsWith(boundedRoom.emit('chat.message', { text: '3' }), ClientErrorCode.Offline);
    // Per emit, the app may also choose to queue on a client that rejects by default.
    const perEmit = rejectingRoom.emit('chat.message', { text: 'y' }, { offline: 'queue' });
    proxy.setTargets([nodes[0]!.port]);
    await Promise.all([...kept, perEmit]);
  });

  it('tells the app once, with the state to reload, when a rejoin cannot recover the missed events', async () => {
    const name = room();
    const ada = proxied();
    const adaRoom = ada.join(name);
    const resets: Array<{ reason: string; state: Readonly<Record<string, unknown>>; offset: number }> = [];
    adaRoom.onReset((reset) => resets.push(reset));
    const seen = recordEvents(adaRoom, ['chat.message']);
    await adaRoom.ready;
    const grace = direct().join(name);
    await grace.ready;
    proxy.setTargets([]);
    proxy.cutAll();
    await untilStatus(ada, 'reconnecting');
    // More than the history keeps (20): the rejoin gets recovered: false.
    for (let i = 0; i < 25; i++) await grace.emit('chat.message', { text: `missed ${i}` });
    await grace.setState('doc', 'v2');
    proxy.setTargets([nodes[0]!.port]);
    await waitFor(() => resets.length > 0, 'the reset');
    assert.equal(resets.length, 1);
    assert.equal(resets[0]!.reason, 'unrecovered');
    assert.equal(resets[0]!.state.doc, 'v2');
    assert.equal(adaRoom.state.doc, 'v2');
    // Events after the reset's offset follow it (the rejoin's own room.member.joined first).
    assert.ok((adaRoom.offset ?? 0) >= resets[0]!.offset);
    const after = await grace.emit('chat.message', { text: 'after' });
    await waitFor(() => seen.at(-1)?.meta.offset === after.offset, 'the next event after the reset');
    assert.equal(seen.filter((s) => (s.data as { text: string }).text.startsWith('missed')).length, 0);
  });

  it("types a room's events from the app's definitions: publishAs names them, the schema shapes their data", async () => {
    const name = room();
    const ada = proxied().join(name);
    const grace = direct().join(name);
    const moves: Array<{ x: number; y: number; offset: number | undefined }> = [];
    grace.on('cursor.moved', (data, meta) => moves.push({ ...data, offset: meta.offset }));
    await Promise.all([ada.ready, grace.ready]);
    const ack = await ada.emit('cursor.move', { x: 3, y: 4 });
    await waitFor(() => moves.length === 1, 'grace to get cursor.moved');
    // Ephemeral (stream: null): no offset, in the ack or the event.
    assert.deepEqual(moves, [{ x: 3, y: 4, offset: undefined }]);
    assert.equal(ack.offset, undefined);
  });

  it('refuses options without a url, and names the missing WebSocket on Node 20', () => {
    assert.throws(() => connect({ urls: [], WebSocket }), /give `url` or a non-empty `urls`/);
    assert.throws(
      () => connect({ url: 'ws://127.0.0.1:1/events' }),
      /no global WebSocket here \(Node 20\); pass one/,
    );
  });

  it('closes for good, saying why, on a url no WebSocket can open', async () => {
    const client = clients.open({ url: 'not a url' });
    const closed = await untilStatus(client, 'closed');
    assert.equal(closed.byApp, false);
    assert.match(closed.reason, /cannot open not a url/);
  });

  it('rejects queued emits with closed and refuses new ones once the app closes the client', async () => {
    const client = proxied();
    const lobby = client.join(room());
    await lobby.ready;
    proxy.setTargets([]);
    proxy.cutAll();
    await untilStatus(client, 'reconnecting');
    const queued = lobby.emit('chat.message', { text: 'never sent' });
    client.close();
    proxy.setTargets([nodes[0]!.port]);
    await rejectsWith(queued, ClientErrorCode.Closed);
    await rejectsWith(client.request('node.info', {}), ClientErrorCode.Closed);
    assert.deepEqual(client.state, {
      status: 'closed',
      code: 1000,
      reason: 'closed by the app',
      byApp: true,
    });
    assert.equal(lobby.status, 'closed');
    await assert.rejects(lobby.emit('chat.message', { text: 'x' }), isCode(ClientErrorCode.Closed));
  });
});
