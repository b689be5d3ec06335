import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
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
});
