import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HistoryRead, HistoryStore } from '../src/backend/backend';
import type { Position, StoredEvent } from '../src/core/events/event';
import { GAP_GRACE_MS, Sequencer } from '../src/core/rooms/sequencer';
import { waitFor } from './helpers/wait';

const event = (offset: number, epoch = 'e1'): StoredEvent => ({
  type: 'x',
  room: 'r',
  data: offset,
  from: { node: 'n' },
  stream: 'events',
  offset,
  epoch,
});

/** A history of offsets 1..head in epoch e1, from which `first` on is still kept. */
function history(head: number, first = 1, epoch = 'e1'): HistoryStore & { reads: number } {
  const store = {
    reads: 0,
    async head(): Promise<Position> {
      return { offset: head, epoch };
    },
    async read(
      _room: string,
      _stream: string,
      after: number,
      wanted?: string,
      limit = 1000,
    ): Promise<HistoryRead> {
      store.reads++;
      const complete = (wanted === undefined || wanted === epoch) && first <= after + 1 && after <= head;
      const events = [];
      for (let o = after + 1; complete && o <= head && events.length < limit; o++)
        events.push(event(o, epoch));
      return { head: { offset: head, epoch }, events, complete };
    },
  };
  return store;
}

function collect(start: Position, store: HistoryStore) {
  const delivered: number[] = [];
  const resets: Position[] = [];
  const sequencer = new Sequencer('r', 'events', start, store, {
    deliver: (e) => delivered.push(e.offset!),
    reset: (p) => resets.push(p),
    repaired: () => {},
    failed: (err) => {
      throw err;
    },
  });
  return { sequencer, delivered, resets };
}

describe('Sequencer', () => {
  it('delivers consecutive offsets at once', () => {
    const { sequencer, delivered } = collect({ offset: 0, epoch: 'e1' }, history(0));
    for (const o of [1, 2, 3]) sequencer.offer(event(o));
    assert.deepEqual(delivered, [1, 2, 3]);
  });

  it('drops duplicates and offsets it already delivered', () => {
    const { sequencer, delivered } = collect({ offset: 5, epoch: 'e1' }, history(5));
    for (const o of [3, 5, 6, 6, 4, 7]) sequencer.offer(event(o));
    assert.deepEqual(delivered, [6, 7]);
  });

  it('holds back an event after a gap and fills the gap from history first', async () => {
    const store = history(10);
    const { sequencer, delivered } = collect({ offset: 2, epoch: 'e1' }, store);
    sequencer.offer(event(6));
    await waitFor(() => delivered.length >= 8, 'repair');
    assert.deepEqual(delivered, [3, 4, 5, 6, 7, 8, 9, 10]);
    assert.ok(store.reads >= 1);
  });

  it('reads no history when the missing event arrives within the gap grace', async () => {
    const store = history(3);
    const { sequencer, delivered } = collect({ offset: 1, epoch: 'e1' }, store);
    sequencer.offer(event(3)); // a node's own append, back before the bus brought offset 2
    assert.deepEqual(delivered, [], 'held back');
    sequencer.offer(event(2));
    assert.deepEqual(delivered, [2, 3]);
    // Past the grace, nothing is read: the gap closed by itself.
    await new Promise((resolve) => setTimeout(resolve, GAP_GRACE_MS * 3));
    assert.equal(store.reads, 0);
  });

  it('reads what it missed on resync', async () => {
    const { sequencer, delivered } = collect({ offset: 0, epoch: 'e1' }, history(3));
    sequencer.resync();
    await waitFor(() => delivered.length === 3, 'resync read');
    assert.deepEqual(delivered, [1, 2, 3]);
  });

  it('resets to the head and says so when history no longer reaches back', async () => {
    const { sequencer, delivered, resets } = collect({ offset: 1, epoch: 'e1' }, history(50, 20));
    sequencer.offer(event(50));
    await waitFor(() => resets.length === 1, 'reset');
    assert.deepEqual(resets[0], { offset: 50, epoch: 'e1' });
    assert.deepEqual(delivered, []);
    sequencer.offer(event(51));
    assert.deepEqual(delivered, [51]);
  });

  it('adopts the first epoch of a stream that did not exist yet', () => {
    const { sequencer, delivered } = collect({ offset: 0, epoch: '' }, history(0));
    sequencer.offer(event(1, 'fresh'));
    sequencer.offer(event(2, 'fresh'));
    assert.deepEqual(delivered, [1, 2]);
  });
});
