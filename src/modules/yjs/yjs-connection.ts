import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import { DOCUMENT_STREAM, type DocumentSnapshot } from '../../backend/document-store';
import { type Connection, type Identity, OneRoom } from '../../core/connection';
import { CloseCode, ErrorCode, UnavailableError } from '../../core/errors';
import type { Event, Position } from '../../core/events/event';
import type { IncomingFrame } from '../../core/events/router';
import type { FlowControl } from '../../core/limits/flow-control';
import type { Logger } from '../../core/log';
import { holdWritesForTick } from '../../core/protocol/write-batch';
import type { Entry } from '../../core/rooms/room-hub';
import { ROOM_RESET } from '../../core/rooms/room-hub';
import {
  type DocumentParts,
  documentFrames,
  stateVectorOf,
  syncAnswer,
  wholeDocument,
} from './document-parts';
import { MAX_BATCH_BYTES, MAX_BATCH_FRAMES, mergeBatch } from './update-batch';
import {
  type AwarenessState,
  type DecodedFrame,
  decodeAwarenessUpdate,
  decodeYjsFrame,
  encodeAwareness,
  encodeAwarenessUpdate,
  encodePermissionDenied,
  encodeSyncStep1,
  encodeUpdate,
  isEmptyUpdate,
  isValidUpdate,
  type YjsMessage,
} from './yjs-codec';
import { YJS_AWARENESS, YJS_UPDATE } from './yjs-events';

/** How many of one connection's updates may wait for their append at once. */
const MAX_UPDATES_IN_FLIGHT = 64;

/** A frame as the socket gave it, decoded once it has been looked at. */
interface Received {
  readonly frame: Uint8Array;
  readonly isBinary: boolean;
  decoded?: DecodedFrame;
}

/** What the connection takes off its queue in one step: one frame, or a run of update frames. */
type Taken =
  | {
      readonly kind: 'frame';
      readonly frames: readonly Received[];
      readonly decoded: DecodedFrame | undefined;
    }
  | { readonly kind: 'updates'; readonly frames: readonly Received[]; readonly updates: Uint8Array[] };

/** What a Yjs connection needs from its node and the Yjs module. */
export interface YjsRoomServices {
  readonly log: Logger;
  enter(room: string, conn: Connection): Promise<Entry>;
  /** The room's document as this node's running load read it from the database, if it is loading the room. */
  loadingDocument(room: string): Promise<DocumentSnapshot | undefined>;
  /**
   * The room's whole document now, as one update; with `covering` (where this caller's live
   * deliveries start), a document that reaches that position, which may be one a read
   * already running for other callers returns.
   */
  document(room: string, covering?: Position): Promise<DocumentParts>;
  /** The room's current awareness states, from every node, as one awareness update (or none). */
  awareness(room: string): Promise<Uint8Array | undefined>;
  /** The states that are news to the room: newer than what is stored for their client. */
  newer(room: string, states: readonly AwarenessState[]): Promise<AwarenessState[]>;
  /** An awareness event reached this room's clients on this node (relays of it are then dropped early). */
  seen(room: string, event: Event): void;
  /** Routes a decoded frame through the node's router, as this connection. */
  route(conn: Connection, frame: IncomingFrame): Promise<void>;
  /** Publishes an awareness update as the server (the states of a closed socket's clients). */
  emitAwareness(room: string, update: Uint8Array): Promise<void>;
  /** An update with this offset reached the room on this node (for compaction). */
  appended(room: string, offset: number, bytes: number): void;
}

/**
 * One y-websocket client on `WS /yjs/<room>`. Frames are handled one after another (an
 * update's append may still be in flight when the next frame starts), so a client's
 * updates are appended in the order it sent them. Update frames that queued up while
 * earlier ones were handled are merged into one update and appended as one stream entry
 * (`takeUpdates`). The connection keeps no Y.Doc: sync answers are computed from the
 * room's stored document.
 */
export class YjsConnection implements Connection {
  readonly id = randomUUID();
  readonly endpoint = 'yjs';
  readonly joinsRooms = false;
  readonly limitsOwnRate = false;
  readonly rooms = new OneRoom();
  private queue: Promise<void> = Promise.resolve();
  /** Frames received and not yet taken, oldest first; `draining` while a `drain` is on the queue. */
  private readonly pending: Received[] = [];
  private draining = false;
  /**
   * Updates routed but not yet appended (see `pipeline`); only while there are some, as
   * an idle socket would otherwise keep an empty Set's table, 200 bytes (bench S4).
   */
  private inFlight: Set<Promise<void>> | undefined;
  /**
   * The document read when the socket opened, kept only until the client's first sync
   * step 1 is answered: updates since that read reach the client live, so the answer
   * need not read the room again.
   */
  private opening: DocumentParts | undefined;
  /**
   * Set while the connection was answered from a room's loading document and is still
   * entering the room: every frame but the client's sync step 1 waits for it.
   */
  private entering: Promise<void> | undefined;
  /** The awareness clients this socket announced, with their last clock, to clear them when it closes. */
  private readonly clients = new AnnouncedClients();
  private closing = false;
  private flow: FlowControl | undefined;

  constructor(
    private readonly socket: WebSocket,
    readonly identity: Identity,
    readonly room: string,
    private readonly services: YjsRoomServices,
    /** The socket under `socket`: its writes are held to the end of each tick (write-batch.ts). */
    private readonly transport: Duplex,
  ) {}

  /**
   * Joins the room, sends sync step 1 and the room's awareness, then handles the frames
   * given to `arrived`. Each frame counts in `flow`'s backlog until it is handled, so a
   * writer faster than the room's appends is read more slowly instead of queueing without bound.
   */
  open(flow?: FlowControl): void {
    this.flow = flow;
    this.queue = this.queue.then(() => this.start());
  }

  /** A frame the socket received (the module listens to every socket with one function). */
  arrived(raw: RawData, isBinary: boolean): void {
    const frame = toBytes(raw);
    this.flow?.received(frame.length);
    this.pending.push({ frame, isBinary });
    if (this.draining) return;
    this.draining = true;
    this.queue = this.queue.then(() => this.drain());
  }

  /**
   * Handles the received frames, oldest first, including those that arrive meanwhile. What
   * arrives while a step waits (for the room, or for a free slot among the appends in
   * flight) is taken together in the next step, so the busier the connection, the larger
   * its batches.
   */
  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const taken = this.take();
      try {
        await this.handle(taken);
      } catch (err) {
        // The room could not be read: the client resyncs on reconnect.
        this.services.log.warn({ err, room: this.room, conn: this.id }, 'yjs frame failed');
        this.failed(err);
      } finally {
        for (const { frame } of taken.frames) this.flow?.handled(frame.length);
      }
    }
    this.draining = false;
  }

  /** The oldest frame, with the update frames right behind it when it is one too (bounded by MAX_BATCH_*). */
  private take(): Taken {
    const first = this.pending.shift()!;
    const decoded = decodedOf(first);
    const update = updateOf(decoded);
    if (update === undefined) return { kind: 'frame', frames: [first], decoded };
    const frames = [first];
    const updates = [update];
    let bytes = first.frame.length;
    while (updates.length < MAX_BATCH_FRAMES && this.pending.length > 0) {
      const next = this.pending[0]!;
      if (bytes + next.frame.length > MAX_BATCH_BYTES) break;
      const more = updateOf(decodedOf(next));
      if (more === undefined) break;
      this.pending.shift();
      frames.push(next);
      updates.push(more);
      bytes += next.frame.length;
    }
    return { kind: 'updates', frames, updates };
  }

  /** Closes after a read of the room failed: 4503 when the backend is away, 1011 otherwise; both reconnect. */
  private failed(err: unknown): void {
    if (err instanceof UnavailableError)
      this.close(CloseCode.Unavailable, 'room unavailable: Redis unreachable');
    else this.close(CloseCode.InternalError, 'room could not be read; the error was logged');
  }

  /** Resolves when every frame received so far has been handled. */
  settled(): Promise<void> {
    return this.queue.then(async () => {
      await Promise.all(this.inFlight ?? []);
    });
  }

  /**
   * Lets the next frame start while this update's append is on its way to Redis, up to
   * MAX_UPDATES_IN_FLIGHT: one round trip per update would cap a writer at one update
   * per round trip (the bench saw ~100/s per client). Appends still reach Redis in the
   * order sent: each takes the same synchronous path to the one command connection, and
   * ioredis keeps a connection's commands in order. (Yjs would merge them in any order.)
   * The router answers failures itself (`error`), so `work` does not reject.
   */
  private async pipeline(work: Promise<void>): Promise<void> {
    this.inFlight ??= new Set();
    const inFlight = this.inFlight;
    const tracked: Promise<void> = work
      .catch(() => {})
      .finally(() => {
        inFlight.delete(tracked);
        if (inFlight.size === 0 && this.inFlight === inFlight) this.inFlight = undefined;
      });
    inFlight.add(tracked);
    if (inFlight.size >= MAX_UPDATES_IN_FLIGHT) await Promise.race(inFlight);
  }

  private async start(): Promise<void> {
    const entering = this.services.enter(this.room, this);
    // Handled below or in `enterLoaded`; until then its rejection is not unhandled.
    entering.catch(() => {});
    const loading = await this.services.loadingDocument(this.room);
    if (loading?.update) {
      // A cold room this node is loading from the database: its document is known before
      // the write-back into Redis is done, so the client's sync starts from it now. The
      // room is entered meanwhile; nothing from this client is appended before.
      this.opening = wholeDocument(loading.update);
      this.send(encodeSyncStep1(stateVectorOf(this.opening)));
      this.entering = this.enterLoaded(entering, loading);
      return;
    }
    await this.afterEntering(entering, async (entry) => {
      // Both reads start now, after entering: one round trip of waiting instead of two.
      const [document, awareness] = await Promise.all([
        this.services.document(this.room, entry.positions[DOCUMENT_STREAM]),
        this.services.awareness(this.room),
      ]);
      this.opening = document;
      this.send(encodeSyncStep1(stateVectorOf(document)));
      if (awareness) this.send(encodeAwareness(awareness));
    });
  }

  /**
   * Runs the part of an opening that needs the room entered, then lets the room's events go
   * live (the entry's release); a failure on the way closes the socket.
   */
  private async afterEntering(
    entering: Promise<Entry>,
    opened: (entry: Entry) => Promise<void>,
  ): Promise<void> {
    let entry: Entry | undefined;
    try {
      entry = await entering;
      await opened(entry);
    } catch (err) {
      this.services.log.warn({ err, room: this.room, conn: this.id }, 'yjs connection could not open');
      this.failed(err);
    } finally {
      entry?.release();
    }
  }

  /**
   * The rest of an opening answered from a loading document: once entered, the room's
   * awareness, and the whole document again (as an update) unless the room's document
   * stream stands where the loaded document ends (the room was in Redis after all, or an
   * update was appended between the load and the entry). Then the room's events go live.
   */
  private async enterLoaded(entering: Promise<Entry>, loaded: DocumentSnapshot): Promise<void> {
    await this.afterEntering(entering, async (entry) => {
      const position = entry.positions[DOCUMENT_STREAM];
      const current = position?.offset === loaded.offset && position.epoch === loaded.epoch;
      const [document, awareness] = await Promise.all([
        current ? undefined : this.services.document(this.room),
        this.services.awareness(this.room),
      ]);
      for (const frame of document ? documentFrames(document) : []) this.send(frame);
      if (awareness) this.send(encodeAwareness(awareness));
    });
    this.entering = undefined;
  }

  private async handle(taken: Taken): Promise<void> {
    // Only the first sync step 1 is answered before the room is entered: from the loaded document.
    const early =
      this.opening &&
      taken.kind === 'frame' &&
      taken.decoded?.ok &&
      taken.decoded.message.kind === 'sync-step1';
    if (this.entering && !early) await this.entering;
    if (this.closing) return;
    if (taken.kind === 'updates') return this.updates(taken.updates);
    const { decoded } = taken;
    if (!decoded) return this.close(CloseCode.UnsupportedData, 'frames on /yjs are binary');
    if (!decoded.ok) return this.close(CloseCode.BadYjsFrame, decoded.reason);
    return this.receive(decoded.message);
  }

  /**
   * Appends a run of updates, in the order sent. More than one is merged and checked as one
   * (one scratch document, one stream entry, one frame per reader). When the merged update
   * does not hold, some frame of the run is bad: the run is handled frame by frame, so the
   * ones before the bad frame are appended, the bad one closes the socket with 4400, and
   * nothing after it is appended.
   */
  private async updates(updates: readonly Uint8Array[]): Promise<void> {
    if (updates.length > 1) {
      const batch = mergeBatch(updates);
      if (batch.kind === 'empty') return;
      if (batch.kind === 'merged') return this.append(batch.update);
    }
    for (const update of updates) {
      if (this.closing) return;
      // A client in sync answers step 1 with an empty update: nothing to store, for readers too.
      const content = emptyOrInvalid(update);
      if (content === 'invalid') return this.close(CloseCode.BadYjsFrame, 'not a Yjs update');
      if (content === 'content') await this.append(update);
    }
  }

  private append(update: Uint8Array): Promise<void> {
    return this.pipeline(this.services.route(this, { type: YJS_UPDATE, room: this.room, data: update }));
  }

  private async receive(message: YjsMessage): Promise<void> {
    switch (message.kind) {
      case 'sync-step2':
      case 'update':
        // `take` takes update frames as runs; this is one of a run of one.
        return this.updates([message.update]);
      case 'sync-step1': {
        const document = this.opening ?? (await this.services.document(this.room));
        this.opening = undefined;
        for (const frame of syncAnswer(document, message.stateVector)) this.send(frame);
        return;
      }
      case 'awareness': {
        // y-websocket clients send back every state they receive (their awareness 'update'
        // handler does not look at the origin). Only states newer than the stored ones are
        // this client's own news; relays are dropped here, as a y-protocols Awareness would.
        const states = decodeAwarenessUpdate(message.update);
        const news = await this.services.newer(this.room, states);
        if (news.length === 0) return;
        this.remember(news);
        const update = news.length === states.length ? message.update : encodeAwarenessUpdate(news);
        return this.services.route(this, { type: YJS_AWARENESS, room: this.room, data: update });
      }
      case 'query-awareness': {
        const awareness = await this.services.awareness(this.room);
        if (awareness) this.send(encodeAwareness(awareness));
        return;
      }
    }
  }

  private remember(states: readonly AwarenessState[]): void {
    for (const { client, clock, state } of states) {
      if (state === 'null') this.clients.delete(client);
      else this.clients.set(client, clock);
    }
  }

  /**
   * Tells the room that this socket's clients left: a null state with a newer clock, so
   * every y-protocols peer drops them at once instead of after its 30 s timeout.
   */
  async clearAwareness(): Promise<void> {
    const announced = this.clients.take();
    if (announced.length === 0) return;
    const states = announced.map(([client, clock]) => ({ client, clock: clock + 1, state: 'null' }));
    await this.services.emitAwareness(this.room, encodeAwarenessUpdate(states));
  }

  deliver(event: Event): void {
    switch (event.type) {
      case YJS_UPDATE: {
        if (!(event.data instanceof Uint8Array)) return;
        if (event.offset !== undefined) this.services.appended(this.room, event.offset, event.data.length);
        // The sender has its own update already.
        if (event.from.conn === this.id) return;
        this.send(encodedOnce(event, encodeUpdate));
        return;
      }
      case YJS_AWARENESS:
        // Echoed to the sender too: y-websocket closes a socket that hears nothing for 30 s,
        // and its own awareness renewal (every 15 s) coming back is what keeps a lone client open.
        this.services.seen(this.room, event);
        if (event.data instanceof Uint8Array) this.send(encodedOnce(event, encodeAwareness));
        return;
      case ROOM_RESET:
        // Updates this node missed can no longer be read from the log (compacted away): send
        // the whole document, which Yjs merges without duplicating anything.
        if ((event.data as { stream?: string }).stream === DOCUMENT_STREAM) this.resendDocument();
        return;
      default:
        // JSON room events of the same room are not for Yjs clients.
        return;
    }
  }

  private resendDocument(): void {
    this.queue = this.queue.then(async () => {
      try {
        for (const frame of documentFrames(await this.services.document(this.room))) this.send(frame);
      } catch (err) {
        this.failed(err);
      }
    });
  }

  ack(): void {
    // y-protocols has no acknowledgements.
  }

  error(_id: string | number | undefined, code: ErrorCode, message: string): void {
    switch (code) {
      case ErrorCode.Forbidden:
        // The protocol's answer to a reader's update: the client keeps syncing, nothing is stored.
        this.send(encodePermissionDenied(message));
        return;
      case ErrorCode.InvalidData:
      case ErrorCode.BadFrame:
        this.close(CloseCode.BadYjsFrame, message);
        return;
      case ErrorCode.Unavailable:
        // The update could not be stored: the client must resync, which a reconnect does; its
        // update is sent again in its sync step 2.
        this.close(CloseCode.Unavailable, message);
        return;
      default:
        this.close(CloseCode.InternalError, message);
    }
  }

  close(code: CloseCode, reason: string): void {
    this.closing = true;
    this.flow?.stop();
    // Close reasons are limited to 123 bytes by RFC 6455.
    this.socket.close(code, truncate(reason, 123));
  }

  private send(bytes: Uint8Array): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    holdWritesForTick(this.transport);
    // No callback: a failed write surfaces as the socket's 'error' and 'close'.
    this.socket.send(bytes);
  }
}

function toBytes(raw: RawData): Uint8Array {
  if (Array.isArray(raw)) return Buffer.concat(raw);
  return raw instanceof ArrayBuffer ? new Uint8Array(raw) : raw;
}

/**
 * The frame for a room event, encoded once for all the room's members on this node: the
 * hub hands every member the same event object. (Encoding per member showed in the
 * bench's profiles of 100 readers in one room.)
 */
const frames = new WeakMap<Event, Uint8Array>();
function encodedOnce(event: Event, encode: (data: Uint8Array) => Uint8Array): Uint8Array {
  let frame = frames.get(event);
  if (!frame) {
    frame = encode(event.data as Uint8Array);
    frames.set(event, frame);
  }
  return frame;
}

/** The frame decoded, once; undefined for a text frame. */
function decodedOf(received: Received): DecodedFrame | undefined {
  if (!received.isBinary) return undefined;
  received.decoded ??= decodeYjsFrame(received.frame);
  return received.decoded;
}

/** The update a frame carries (sync step 2 or update), if it decodes as one. */
function updateOf(decoded: DecodedFrame | undefined): Uint8Array | undefined {
  if (!decoded?.ok) return undefined;
  const { message } = decoded;
  return message.kind === 'update' || message.kind === 'sync-step2' ? message.update : undefined;
}

/**
 * Checked here rather than left to the event's schema, so a bad frame closes the socket
 * before the frames behind it are routed. (The schema's own check then finds the update
 * already known valid.)
 */
function emptyOrInvalid(update: Uint8Array): 'empty' | 'invalid' | 'content' {
  if (!isValidUpdate(update)) return 'invalid';
  try {
    return isEmptyUpdate(update) ? 'empty' : 'content';
  } catch {
    return 'invalid';
  }
}

/** Cuts `text` to at most `bytes` UTF-8 bytes without splitting a character. */
function truncate(text: string, bytes: number): string {
  let out = text;
  while (Buffer.byteLength(out) > bytes) out = out.slice(0, -1);
  return out;
}

/**
 * The awareness clients one socket announced, with their last clock. A y-websocket
 * provider is one client, so one is kept in two fields and a Map is made only for a
 * second: its table would be 200 bytes of an idle socket's 4.5 KB of heap (bench S4).
 */
export class AnnouncedClients {
  private client: number | undefined;
  private clock = 0;
  private more: Map<number, number> | undefined;

  set(client: number, clock: number): void {
    if (this.more) this.more.set(client, clock);
    else if (this.client === undefined || this.client === client) {
      this.client = client;
      this.clock = clock;
    } else {
      this.more = new Map([
        [this.client, this.clock],
        [client, clock],
      ]);
      this.client = undefined;
    }
  }

  delete(client: number): void {
    if (this.more) this.more.delete(client);
    else if (this.client === client) this.client = undefined;
  }

  /** Every client with its clock, forgetting them. */
  take(): Array<[client: number, clock: number]> {
    const all: Array<[number, number]> = this.more
      ? [...this.more]
      : this.client === undefined
        ? []
        : [[this.client, this.clock]];
    this.more = undefined;
    this.client = undefined;
    return all;
  }
}
