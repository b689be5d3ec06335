import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { builtinEvents } from '../src/core/events/builtin';
import { defineEvent } from '../src/core/events/event-definition';
import { EventRegistry } from '../src/core/events/registry';

const sample = (type: string) => defineEvent({ type, scope: 'local', access: 'connect', data: z.object({}) });

describe('EventRegistry', () => {
  it('holds the built-in event types of the design table', () => {
    const registry = new EventRegistry(builtinEvents);
    for (const type of [
      'room.join',
      'room.leave',
      'room.member.joined',
      'room.member.left',
      'room.state.set',
      'node.info',
    ]) {
      assert.ok(registry.get(type), type);
    }
  });

  it('has a room stream for each stream the declared room events name, and the default one', () => {
    const registry = new EventRegistry(builtinEvents);
    assert.deepEqual(registry.streams(), ['events']);
    const room = (type: string, stream?: string | null) =>
      defineEvent({ type, scope: 'room', access: 'write', stream, data: z.object({}) });
    registry.register(room('doc.update', 'doc')).register(room('cursor.move', null));
    registry.register(room('note.add', 'notes')).register(room('note.edit', 'notes'));
    assert.deepEqual(registry.streams(), ['events', 'doc', 'notes']);
  });

  it('refuses a type declared twice', () => {
    assert.throws(() => new EventRegistry([sample('a.b'), sample('a.b')]), /declared twice/);
  });

  it('refuses the reserved frame names and malformed names', () => {
    for (const type of ['ack', 'error', 'welcome', 'Chat', '', 'a..b']) {
      assert.throws(() => new EventRegistry([sample(type)]), /not a valid name/, type);
    }
  });
});
