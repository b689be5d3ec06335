import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BusListener } from '../src/backend/backend';
import { MemoryBackend } from '../src/backend/memory/memory-backend';
import { SharedMemory } from '../src/backend/memory/shared-memory';
import { UnavailableError } from '../src/core/errors';
import type { RoomEvent, StreamName } from '../src/core/events/event';
import type { SwarmNode } from '../src/node';
import { JsonClient } from './helpers/client';
import { eventsUrl, startNode } from './helpers/nodes';

describe('room.join', () => {
  let node: SwarmNode;
  /** While true, the bus refuses to publish `room.member.joined` (Redis gone between the answer and the notice). */
  let refuseAnnouncements = false;
  const clients: JsonClient[] = [];

  before(async () => {
    node = await startNode({
      backend: (config) => {
        const backend = new MemoryBackend(config.nodeId, new SharedMemory(config.historyLimit));
        const bus = backend.bus;
        const publishRoom = bus.publishRoom.bind(bus);
        Object.defineProperty(bus, 'publishRoom', {
          value: (event: RoomEvent, stream: StreamName | null) => {
            if (refuseAnnouncements && event.type === 'room.member.joined') {
              return Promise.reject(new UnavailableError());
            }
            return publishRoom(event, stream);
          },
        });
        return backend;
      },
    });
  });
  after(async () => {
    for (const client of clients) client.socket.terminate();
    await node.close();
  });

  it('keeps a member whose join was answered when announcing it to the room fails', async () => {
    const client = await JsonClient.connect(eventsUrl(node));
    clients.push(client);
    refuseAnnouncements = true;
    try {
      await client.join('announce-1');
    } finally {
      refuseAnnouncements = false;
    }
    // The join was acknowledged, so the connection is a member: its events are taken.
    const ack = (await client.request('chat.message', {
      room: 'announce-1',
      data: { text: 'still here' },
    })) as {
      offset: number;
    };
    assert.equal(typeof ack.offset, 'number');
    const got = await client.next((f) => f.type === 'chat.message', 'own message delivered');
    assert.equal(got.offset, ack.offset);
  });

  it('recovers a caught-up member that joins again with since and an empty epoch, as one behind it', async () => {
    const writer = await JsonClient.connect(eventsUrl(node));
    clients.push(writer);
    await writer.join('epoch-1');
    const { offset } = (await writer.request('chat.message', { room: 'epoch-1', data: { text: 'one' } })) as {
      offset: number;
    };
    const caughtUp = await JsonClient.connect(eventsUrl(node));
    const behind = await JsonClient.connect(eventsUrl(node));
    clients.push(caughtUp, behind);
    const answers = [
      await caughtUp.join('epoch-1', { since: offset, epoch: '' }),
      await behind.join('epoch-1', { since: offset - 1, epoch: '' }),
    ];
    assert.deepEqual(
      answers.map((answer) => answer.recovered),
      [true, true],
    );
  });

  it('recovers a member back with since past its new node, which is behind, and sends it nothing twice', async () => {
    const shared = new SharedMemory(1000);
    // Node B stops hearing the room (a lost subscription) and is not told to resync.
    let deaf = false;
    const [a, b] = [
      await startNode({ cluster: shared }),
      await startNode({
        backend: (config) => {
          const backend = new MemoryBackend(config.nodeId, shared);
          const listen = backend.bus.listen.bind(backend.bus);
          backend.bus.listen = (listener: BusListener) =>
            listen({
              ...listener,
              room: (event) => {
                if (!deaf) listener.room(event);
              },
            });
          return backend;
        },
      }),
    ];
    try {
      const [writer, member, watcher] = [
        await JsonClient.connect(eventsUrl(a!)),
        await JsonClient.connect(eventsUrl(a!)),
        await JsonClient.connect(eventsUrl(b!)),
      ];
      clients.push(writer, member, watcher);
      const room = 'behind-1';
      await watcher.join(room);
      await writer.join(room);
      const { epoch } = await member.join(room);
      const send = async (text: string) =>
        ((await writer.request('chat.message', { room, data: { text } })) as { offset: number }).offset;
      deaf = true;
      let since = 0;
      for (let n = 1; n <= 5; n++) since = await send(`m${n}`);
      await member.next((f) => f.type === 'chat.message' && f.offset === since, 'the member to have m1-m5');
      assert.equal(watcher.events(room, 'chat.message').length, 0, 'node B heard nothing');

      // The member moves to node B, which is behind.
      const moved = await JsonClient.connect(eventsUrl(b!));
      clients.push(moved);
      const answer = await moved.join(room, { since, epoch });
      assert.equal(answer.recovered, true);
      assert.equal(answer.offset, since);
      deaf = false;
      const last = await send('m6');
      await watcher.next((f) => f.type === 'chat.message' && f.offset === last, 'node B to catch up');
      await moved.next((f) => f.type === 'chat.message' && f.offset === last, 'the moved member to get m6');
      const offsets = moved.events(room).map((f) => f.offset!);
      assert.ok(
        offsets.every((offset) => offset > since),
        `nothing up to ${since} sent again: ${offsets}`,
      );
      assert.deepEqual(
        watcher.events(room, 'chat.message').map((f) => (f.data as { text: string }).text),
        ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'],
      );
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  it('does not recover a member back with since past the stream itself', async () => {
    const client = await JsonClient.connect(eventsUrl(node));
    clients.push(client);
    const first = await client.join('ahead-1');
    const again = await JsonClient.connect(eventsUrl(node));
    clients.push(again);
    const since = first.offset + 3;
    const answer = await again.join('ahead-1', { since, epoch: first.epoch });
    assert.equal(answer.recovered, false);
    assert.ok(answer.offset < since, `answered the room's position (${answer.offset})`);
  });
});
