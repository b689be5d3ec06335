import type { Backend, Member } from '../../backend/backend';
import type { DocumentSnapshot } from '../../backend/document-store';
import type { Connection } from '../connection';
import { UnavailableError } from '../errors';
import { DEFAULT_STREAM, type Position, type RoomEvent, type StreamName } from '../events/event';
import type { Logger } from '../log';
import { ROOM_RESET } from '../protocol/wire';
import { Sequencer } from './sequencer';

/** The event members get when their room's history was reset under them: rejoin to resync. */
export { ROOM_RESET };

interface Slot {
  readonly conn: Connection;
  /** Events held back until the member's join answer is out. */
  buffer: RoomEvent[] | null;
  /**
   * The member already has this stream's events up to `offset` (it came back with a
   * `since` past where this node's sequencer stands): those are not sent again.
   */
  floor?: { readonly stream: StreamName; readonly offset: number };
}

class LocalRoom {
  readonly members = new Map<string, Slot>();
  readonly sequencers = new Map<StreamName, Sequencer>();
  /** Events that arrive while the room is opening; ordered once the heads are known. */
  early: RoomEvent[] | null = [];
  opening: Promise<void> = Promise.resolve();
  constructor(readonly name: string) {}
}

export interface Entry {
  /** Where each of the room's streams stood when the member entered. */
  readonly positions: Record<StreamName, Position>;
  /** Sends `replay` (older events), then everything held back since entering, then goes live. */
  release(replay?: readonly RoomEvent[]): void;
  /**
   * The member has `stream`'s events up to `offset` though this node has not delivered
   * them yet (its sequencer is behind the stream: a lost subscription not yet repaired):
   * they are not sent to it, and the sequencer reads what it missed now.
   */
  holdsThrough(stream: StreamName, offset: number): void;
}

export interface HubMetrics {
  gapRepaired(stream: StreamName, count: number): void;
  /** A room event went out to this many local members. */
  delivered?(type: string, members: number): void;
}

/**
 * The rooms this node has members in. It subscribes to a room's channel while the
 * room has a local member, and delivers each room event to its local members once,
 * in offset order.
 */
export class RoomHub {
  private readonly rooms = new Map<string, LocalRoom>();
  private readonly enterChecks: Array<(room: string) => Promise<void>> = [];
  private loadingReader: (room: string) => Promise<DocumentSnapshot | undefined> = async () => undefined;

  constructor(
    private readonly backend: Backend,
    private readonly log: Logger,
    private readonly metrics?: HubMetrics,
    /** The streams a room reads the heads of when it opens: those the node's events declare. */
    private readonly streams: () => readonly StreamName[] = () => [DEFAULT_STREAM],
  ) {}

  get size(): number {
    return this.rooms.size;
  }

  roomNames(): string[] {
    return [...this.rooms.keys()];
  }

  /**
   * Every room member this node holds now, as the registry should list them (`node` is
   * this node's id): what liveness writes back when the registry may have lost some.
   */
  joinedMembers(node: string): Array<{ room: string; member: Member }> {
    return this.roomNames().flatMap((room) =>
      this.localMembers(room)
        .filter((conn) => conn.joinsRooms)
        .map((conn) => ({ room, member: { conn: conn.id, user: conn.identity.user, node } })),
    );
  }

  localMembers(room: string): Connection[] {
    return [...(this.rooms.get(room)?.members.values() ?? [])].map((slot) => slot.conn);
  }

  /**
   * Runs `check` before every entry into a room on this node; a rejection refuses the
   * entry with its error. The storage module loads a room that is not in Redis here.
   */
  beforeEnter(check: (room: string) => Promise<void>): void {
    this.enterChecks.push(check);
  }

  /**
   * Lets `read` answer `loadingDocument`: the storage module, which can tell the document of
   * a room it is loading before the load is done.
   */
  whileLoading(read: (room: string) => Promise<DocumentSnapshot | undefined>): void {
    this.loadingReader = read;
  }

  /**
   * The document of `room` as this node's running load read it from the database (undefined
   * when it is not loading the room): a joiner's first sync answer may start from it while
   * `enter` still waits for the load. Only for reading; nothing is appended before `enter`.
   */
  loadingDocument(room: string): Promise<DocumentSnapshot | undefined> {
    return this.loadingReader(room).catch(() => undefined);
  }

  /** Makes `conn` a local member of `room`. Its deliveries are held until `release`. */
  async enter(room: string, conn: Connection): Promise<Entry> {
    for (const check of this.enterChecks) await check(room);
    let local = this.rooms.get(room);
    if (!local) {
      const opened = new LocalRoom(room);
      opened.opening = this.open(opened);
      this.rooms.set(room, opened);
      local = opened;
    }
    try {
      await local.opening;
    } catch (err) {
      if (this.rooms.get(room) === local) this.rooms.delete(room);
      throw err;
    }
    const slot: Slot = { conn, buffer: [] };
    local.members.set(conn.id, slot);
    conn.rooms.add(room);
    const positions = Object.fromEntries(
      [...local.sequencers].map(([stream, sequencer]) => [stream, sequencer.position]),
    );
    return {
      positions,
      release: (replay = []) => {
        const held = slot.buffer ?? [];
        slot.buffer = null;
        for (const event of replay) conn.deliver(event);
        for (const event of held) if (!alreadyHeld(slot, event)) conn.deliver(event);
      },
      holdsThrough: (stream, offset) => {
        slot.floor = { stream, offset };
        local.sequencers.get(stream)?.resync();
      },
    };
  }

  /** Removes a local member; the last one out unsubscribes the node from the room. */
  async exit(room: string, conn: Connection): Promise<boolean> {
    conn.rooms.delete(room);
    const local = this.rooms.get(room);
    if (!local?.members.delete(conn.id)) return false;
    if (local.members.size === 0) {
      this.rooms.delete(room);
      await this.backend.bus.unsubscribe(room).catch((err: unknown) => {
        this.log.warn({ err, room }, 'unsubscribe failed');
      });
    }
    return true;
  }

  /** An event for a room: from this node's own publish or from the bus. */
  receive(event: RoomEvent): void {
    const local = this.rooms.get(event.room);
    if (!local) return;
    if (local.early) {
      local.early.push(event);
      return;
    }
    const sequencer = event.stream ? local.sequencers.get(event.stream) : undefined;
    if (sequencer) sequencer.offer(event);
    else if (!event.stream) this.fanout(local, event);
  }

  /** The bus may have lost messages: every stream of every room reads what it missed. */
  resync(): void {
    for (const local of this.rooms.values()) {
      if (local.early) continue;
      for (const sequencer of local.sequencers.values()) sequencer.resync();
    }
  }

  private async open(local: LocalRoom): Promise<void> {
    try {
      await this.backend.bus.subscribe(local.name);
      // Again once subscribed: a room evicted between the first check and the subscription
      // (which eviction waits for) is loaded back before its heads are read.
      for (const check of this.enterChecks) await check(local.name);
      const streams = this.streams();
      const heads = await Promise.all(streams.map((s) => this.backend.history.head(local.name, s)));
      streams.forEach((stream, i) => {
        local.sequencers.set(stream, this.createSequencer(local, stream, heads[i]!));
      });
    } catch (err) {
      this.log.warn({ err, room: local.name }, 'could not open room');
      await this.backend.bus.unsubscribe(local.name).catch(() => {});
      throw new UnavailableError();
    }
    const early = local.early ?? [];
    local.early = null;
    for (const event of early) this.receive(event);
  }

  private createSequencer(local: LocalRoom, stream: StreamName, head: Position): Sequencer {
    return new Sequencer(local.name, stream, head, this.backend.history, {
      deliver: (event) => this.fanout(local, event),
      reset: (position) => {
        this.log.warn({ room: local.name, stream, position }, 'room history reset; members told to rejoin');
        this.fanout(local, {
          type: ROOM_RESET,
          room: local.name,
          data: { room: local.name, stream, offset: position.offset, epoch: position.epoch },
          from: { node: 'self' },
        });
      },
      repaired: (count) => {
        this.log.info({ room: local.name, stream, count }, 'gap repaired from history');
        this.metrics?.gapRepaired(stream, count);
      },
      failed: (err) =>
        this.log.warn({ err, room: local.name, stream }, 'gap repair failed; retried on resync'),
    });
  }

  private fanout(local: LocalRoom, event: RoomEvent): void {
    this.metrics?.delivered?.(event.type, local.members.size);
    for (const slot of local.members.values()) {
      if (slot.buffer) {
        slot.buffer.push(event);
        continue;
      }
      if (slot.floor && alreadyHeld(slot, event)) continue;
      try {
        slot.conn.deliver(event);
      } catch (err) {
        this.log.warn({ err, conn: slot.conn.id }, 'delivery failed');
      }
    }
  }
}

/**
 * Whether `slot`'s member already has `event` (at or before its floor). Its stream comes
 * in offset order, so the first event past the floor ends it.
 */
function alreadyHeld(slot: Slot, event: RoomEvent): boolean {
  const floor = slot.floor;
  if (!floor || event.stream !== floor.stream || event.offset === undefined) return false;
  if (event.offset <= floor.offset) return true;
  slot.floor = undefined;
  return false;
}
