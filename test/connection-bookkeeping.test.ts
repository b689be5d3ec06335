import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OneRoom } from '../src/core/connection';
import { ConnectionTable } from '../src/core/connection-table';
import { AnnouncedClients } from '../src/modules/yjs/yjs-connection';
import { FakeConnection } from './helpers/fake-connection';

describe('ConnectionTable', () => {
  it('finds a user’s connections by id and by user as they come and go, one or several', () => {
    const table = new ConnectionTable();
    const first = new FakeConnection({ user: 'ada' });
    const second = new FakeConnection({ user: 'ada' });
    const other = new FakeConnection({ user: 'bob' });
    table.add(first);
    table.add(other);
    assert.deepEqual(table.ofUser('ada'), [first]);
    table.add(second);
    assert.deepEqual(table.ofUser('ada'), [first, second]);
    table.delete(first);
    assert.deepEqual(table.ofUser('ada'), [second]);
    table.add(first);
    assert.deepEqual(table.ofUser('ada'), [second, first]);
    table.delete(second);
    table.delete(first);
    assert.deepEqual(table.ofUser('ada'), []);
    // Deleting one that is gone, or of a user with none, changes nothing.
    table.delete(first);
    assert.deepEqual(table.ofUser('bob'), [other]);
    assert.equal(table.get(other.id), other);
    assert.equal(table.get(first.id), undefined);
    assert.equal(table.size, 1);
  });
});

describe('OneRoom', () => {
  it('holds the one room of a bound connection and refuses a second', () => {
    const rooms = new OneRoom();
    assert.deepEqual([...rooms], []);
    rooms.add('doc');
    rooms.add('doc');
    assert.equal(rooms.has('doc'), true);
    assert.equal(rooms.has('other'), false);
    assert.deepEqual([...rooms], ['doc']);
    assert.throws(() => rooms.add('other'), /bound to room doc cannot enter other/);
    assert.equal(rooms.delete('other'), false);
    assert.equal(rooms.delete('doc'), true);
    assert.deepEqual([...rooms], []);
    rooms.add('other');
    assert.deepEqual([...rooms], ['other']);
  });
});

describe('AnnouncedClients (a Yjs socket’s awareness clients)', () => {
  it('keeps each client’s last clock, one or several, and gives them all up once', () => {
    const one = new AnnouncedClients();
    one.set(7, 1);
    one.set(7, 2);
    assert.deepEqual(one.take(), [[7, 2]]);
    assert.deepEqual(one.take(), []);
    const several = new AnnouncedClients();
    several.set(1, 1);
    several.set(2, 5);
    several.set(1, 3);
    several.set(3, 1);
    several.delete(3);
    assert.deepEqual(several.take(), [
      [1, 3],
      [2, 5],
    ]);
    const removed = new AnnouncedClients();
    removed.set(4, 1);
    removed.delete(4);
    removed.set(5, 2);
    assert.deepEqual(removed.take(), [[5, 2]]);
  });
});
