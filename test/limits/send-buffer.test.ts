import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode } from '../../src/core/errors';
import type { Extension } from '../../src/core/host';
import { JsonEndpoint } from '../../src/modules/json/json-endpoint';
import type { SwarmNode } from '../../src/node';
import { JsonClient } from '../helpers/client';
import { eventsUrl, startNode } from '../helpers/nodes';
import { waitFor, within } from '../helpers/wait';

describe('slow consumers', () => {
  let node: SwarmNode;
  const clients: JsonClient[] = [];

  before(async () => {
    node = await startNode({
      env: {
        MAX_SEND_BUFFER_BYTES: String(256 * 1024),
        MAX_FRAME_BYTES: String(1024 * 1024),
        RATE_LIMIT_PER_SEC: '0',
      },
    });
  });
  after(async () => {
    for (const client of clients) client.socket.terminate();
    await node.close();
  });

  it('closes a member that stops reading with 4508 instead of buffering for it, and keeps serving the others', async () => {
    const writer = await JsonClient.connect(eventsUrl(node));
    const slow = await JsonClient.connect(eventsUrl(node));
    const reader = await JsonClient.connect(eventsUrl(node));
    clients.push(writer, slow, reader);
    for (const client of [writer, slow, reader]) await client.join('big-1');
    slow.socket.pause();
    const value = 'x'.repeat(512 * 1024);
    // 40 x 512 KiB = 20 MiB: more than the kernel's socket buffers on loopback hold.
    const rounds = 40;
    for (let i = 0; i < rounds; i++) {
      await writer.request('room.state.set', { room: 'big-1', data: { key: 'blob', value: `${i}${value}` } });
    }
    // Had the node kept buffering, the resumed client would get all 40 and no close at all.
    slow.socket.resume();
    assert.equal((await within(slow.closed, 'slow consumer closed')).code, CloseCode.SlowConsumer);
    const received = slow.frames.filter((f) => f.type === 'room.state.changed').length;
    assert.ok(received < rounds, `the slow member got ${received} of ${rounds} before the close`);
    assert.equal(reader.events('big-1', 'room.state.changed').length, rounds, 'the reader got everything');
  });

  it('lets a reading member receive messages larger than the limit', async () => {
    const writer = await JsonClient.connect(eventsUrl(node));
    const reader = await JsonClient.connect(eventsUrl(node));
    clients.push(writer, reader);
    await writer.join('big-2');
    await reader.join('big-2');
    const value = 'y'.repeat(400 * 1024);
    for (let i = 0; i < 5; i++) {
      await writer.request('room.state.set', { room: 'big-2', data: { key: `k${i}`, value } });
    }
    await waitFor(() => reader.events('big-2', 'room.state.changed').length === 5, 'five big changes');
    const again = await JsonClient.connect(eventsUrl(node));
    clients.push(again);
    const join = await again.join('big-2');
    assert.equal(Object.keys(join.state).length, 5, 'a 2 MB join answer arrives whole');
    assert.equal(reader.socket.readyState, reader.socket.OPEN);
    assert.equal(again.socket.readyState, again.socket.OPEN);
  });

  it('closes a joiner that does not read its history replay before the replay is all buffered', async () => {
    const writer = await JsonClient.connect(eventsUrl(node));
    clients.push(writer);
    await writer.join('replay');
    // 160 x 256 KiB = 40 MiB of history: far more than loopback's socket buffers and the 512 KiB bound.
    const total = 160;
    const value = 'r'.repeat(256 * 1024);
    for (let i = 0; i < total; i++) {
      await writer.request('room.state.set', {
        room: 'replay',
        data: { key: 'blob', value: `${i}${value}` },
      });
    }
    const { epoch } = await node.backend.history.head('replay', 'events');
    const late = await JsonClient.connect(eventsUrl(node));
    clients.push(late);
    late.socket.pause();
    // The replay of a join is sent in one synchronous loop: one tick.
    late.socket.send(
      JSON.stringify({ type: 'room.join', data: { room: 'replay', since: 0, epoch }, id: 'j' }),
    );
    const endpoint = (node as unknown as { extensions: Extension[] }).extensions.find(
      (extension): extension is JsonEndpoint => extension instanceof JsonEndpoint,
    );
    const serverSockets = endpoint?.clients ?? new Set();
    await waitFor(
      () => [...serverSockets].some((socket) => socket.readyState === socket.CLOSING),
      'the node to close the joiner',
    );
    late.socket.resume();
    assert.equal((await within(late.closed, 'slow consumer closed')).code, CloseCode.SlowConsumer);
    const received = late.events('replay', 'room.state.changed').length;
    // Had the node buffered the whole replay before checking, the joiner would get all of it, then the close.
    assert.ok(received < total, `the joiner got ${received} of ${total} before the close`);
    assert.equal(writer.socket.readyState, writer.socket.OPEN, 'the writer is served on');
  });
});
