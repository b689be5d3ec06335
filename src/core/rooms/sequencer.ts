import type { HistoryStore } from '../../backend/backend';
import type { Position, RoomEvent, StreamName } from '../events/event';

/** How many history entries one repair read asks for at a time. */
const READ_BATCH = 500;

/**
 * How long a gap may stay open before history is read. A node's own appends come back on
 * the command connection and other nodes' on the subscriber, so an offset often arrives
 * a moment before its predecessor: that predecessor is already in flight, not lost.
 * Waiting this long first saves a history read per interleaving (the bench saw one for
 * up to 40% of appends); only a real loss pays the delay.
 */
export const GAP_GRACE_MS = 20;

export interface SequencerHooks {
  deliver(event: RoomEvent): void;
  /** The stream's history was reset or no longer reaches back to what was missed. */
  reset(head: Position): void;
  /** A gap was repaired from history; `count` events were read. */
  repaired(count: number): void;
  failed(err: unknown): void;
}

/**
 * Puts one room stream's events in offset order for this node's members, whatever
 * path they came by (this node's own publish, the bus, a history read). A gap is
 * filled from history before anything newer is delivered, so a pub/sub hiccup loses
 * nothing and members never see an event twice or out of order.
 */
export class Sequencer {
  private offset: number;
  private epoch: string;
  private readonly pending = new Map<number, RoomEvent>();
  private repairing = false;
  private repairAgain = false;
  private gapTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly room: string,
    private readonly stream: StreamName,
    start: Position,
    private readonly history: HistoryStore,
    private readonly hooks: SequencerHooks,
  ) {
    this.offset = start.offset;
    this.epoch = start.epoch;
  }

  get position(): Position {
    return { offset: this.offset, epoch: this.epoch };
  }

  offer(event: RoomEvent): void {
    const offset = event.offset ?? 0;
    const epoch = event.epoch ?? '';
    if (epoch !== this.epoch) {
      // A stream that did not exist yet has the empty epoch: its first events adopt theirs.
      if (this.epoch === '' && this.offset === 0) this.epoch = epoch;
      else {
        this.scheduleRepair();
        return;
      }
    }
    if (offset <= this.offset) return;
    if (offset === this.offset + 1) {
      this.advance(event);
      this.flushPending();
      return;
    }
    this.pending.set(offset, event);
    this.gapTimer ??= setTimeout(() => {
      this.gapTimer = undefined;
      if (this.pending.size > 0) this.scheduleRepair();
    }, GAP_GRACE_MS);
  }

  /** Reads whatever the stream has past our position (after a transport reconnect). */
  resync(): void {
    this.scheduleRepair();
  }

  private advance(event: RoomEvent): void {
    this.offset = event.offset ?? this.offset + 1;
    this.hooks.deliver(event);
  }

  private flushPending(): void {
    for (;;) {
      const next = this.pending.get(this.offset + 1);
      if (!next) break;
      this.pending.delete(this.offset + 1);
      this.advance(next);
    }
    for (const offset of this.pending.keys()) if (offset <= this.offset) this.pending.delete(offset);
    if (this.pending.size === 0 && this.gapTimer) {
      clearTimeout(this.gapTimer);
      this.gapTimer = undefined;
    }
  }

  private scheduleRepair(): void {
    if (this.repairing) {
      this.repairAgain = true;
      return;
    }
    this.repairing = true;
    void this.repair().finally(() => {
      this.repairing = false;
      if (this.repairAgain) {
        this.repairAgain = false;
        this.scheduleRepair();
      }
    });
  }

  private async repair(): Promise<void> {
    let read = 0;
    try {
      for (;;) {
        const result = await this.history.read(this.room, this.stream, this.offset, this.epoch, READ_BATCH);
        if (!result.complete) {
          // What was missed cannot be read any more: start again from the head and tell members.
          this.pending.clear();
          this.offset = result.head.offset;
          this.epoch = result.head.epoch;
          this.hooks.reset(result.head);
          return;
        }
        for (const event of result.events) {
          if ((event.offset ?? 0) === this.offset + 1) this.advance(event);
        }
        read += result.events.length;
        this.flushPending();
        if (result.events.length < READ_BATCH) break;
      }
      if (read > 0) this.hooks.repaired(read);
    } catch (err) {
      this.hooks.failed(err);
    }
  }
}
