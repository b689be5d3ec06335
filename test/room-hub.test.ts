import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBackend } from '../src/backend/memory/memory-backend';
import { createLogger } from '../src/core/log';
import { RoomHub } from '../src/core/rooms/room-hub';
import { FakeConnection } from './helpers/fake-connection';

describe('RoomHub', () => {
  it('opens a room by reading the heads of only the streams its node declares', async () => {
    const backend = new MemoryBackend('n1');
    const read: string[] = [];
    const head = backend.history.head.bind(backend.history);
    backend.history.head = (room, stream) => {
      read.push(stream);
      return head(room, stream);
    };
    const hub = new RoomHub(backend, createLogger('silent', 'n1'), undefined, () => ['events', 'notes']);
    const entry = await hub.enter('r', new FakeConnection());
    assert.deepEqual(read.sort(), ['events', 'notes']);
    assert.deepEqual(Object.keys(entry.positions).sort(), ['events', 'notes']);
  });
});
