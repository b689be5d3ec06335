import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventFrame, JoinAnswer, Member } from '../../src/core/protocol/wire';
import { RoomModel } from '../../src/demo/app/room-model';

const ada: Member = { conn: 'c-ada', user: 'anon-1', node: 'n1' };
const grace: Member = { conn: 'c-grace', user: 'anon-2', node: 'n2' };
const linus: Member = { conn: 'c-linus', user: 'anon-3', node: 'n1' };

function answer(members: Member[], state: Record<string, unknown> = {}): JoinAnswer {
  return { room: 'r', members, state, offset: 10, epoch: 'e1' };
}

function event(type: string, data: unknown, offset?: number, from?: Member): EventFrame {
  return {
    type,
    room: 'r',
    data,
    offset,
    from: from ? { node: from.node, conn: from.conn, user: from.user } : { node: 'n1' },
  };
}

describe('the demo page room model', () => {
  it('takes the members and their names from the join answer', () => {
    const model = new RoomModel();
    model.reset(answer([ada, grace], { 'name:c-ada': 'Ada', 'name:c-grace': 'Grace', topic: 'x' }));
    assert.deepEqual([...model.members.keys()], ['c-ada', 'c-grace']);
    assert.equal(model.nameOf('c-ada', 'anon-1'), 'Ada');
    assert.equal(model.nameOf('c-grace', 'anon-2'), 'Grace');
  });

  it("shows a chat line under the sender's name, or its user id when it has none", () => {
    const model = new RoomModel();
    model.reset(answer([ada, grace], { 'name:c-ada': 'Ada' }));
    model.apply(event('chat.message', { text: 'hi', at: 1 }, 11, ada), false);
    model.apply(event('chat.message', { text: 'hello', at: 2 }, 12, grace), false);
    assert.deepEqual(
      model.chat.map((line) => [line.offset, line.name, line.text]),
      [
        [11, 'Ada', 'hi'],
        [12, 'anon-2', 'hello'],
      ],
    );
  });

  it('applies live member and name events but takes replayed ones from the join answer only', () => {
    const model = new RoomModel();
    model.reset(answer([ada]));
    // Replayed: Grace joined and left before the answer was made; the answer does not list her.
    model.apply(event('room.member.joined', grace, 3), true);
    model.apply(event('room.state.changed', { key: 'name:c-grace', value: 'Grace' }, 4), true);
    model.apply(event('chat.message', { text: 'earlier', at: 1 }, 5, grace), true);
    assert.deepEqual([...model.members.keys()], ['c-ada']);
    assert.equal(model.chat.length, 1, 'replayed chat lines are shown');
    model.apply(event('room.member.joined', linus, 11), false);
    model.apply(event('room.state.changed', { key: 'name:c-linus', value: 'Linus' }, 12), false);
    assert.deepEqual([...model.members.keys()], ['c-ada', 'c-linus']);
    assert.equal(model.nameOf('c-linus', 'anon-3'), 'Linus');
    model.apply(event('room.member.left', ada, 13), false);
    assert.deepEqual([...model.members.keys()], ['c-linus']);
  });

  it('keeps the name of a member who left for its earlier chat lines', () => {
    const model = new RoomModel();
    model.reset(answer([ada, grace], { 'name:c-grace': 'Grace' }));
    model.apply(event('room.member.left', grace, 11), false);
    model.apply(event('room.state.changed', { key: 'name:c-grace', value: null }, 12), false);
    assert.equal(model.nameOf('c-grace', 'anon-2'), 'Grace');
  });

  it('lets only the member with the smallest connection id clean up the names of those who left', () => {
    const model = new RoomModel();
    model.reset(
      answer([ada, grace, linus], { 'name:c-ada': 'Ada', 'name:c-gone': 'Gone', 'name:c-linus': 'L' }),
    );
    assert.deepEqual(model.staleNames('c-ada'), ['name:c-gone']);
    assert.deepEqual(model.staleNames('c-grace'), []);
    model.apply(event('room.state.changed', { key: 'name:c-gone', value: null }, 11), false);
    assert.deepEqual(model.staleNames('c-ada'), []);
  });
});
