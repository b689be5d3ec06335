import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { AwarenessStore } from '../../backend/awareness-store';
import { CloseCode } from '../../core/errors';
import { MAX_ROOM_NAME } from '../../core/events/builtin/room';
import type { Event, Position } from '../../core/events/event';
import type { Extension, Host } from '../../core/host';
import { refuseUpgrade } from '../../core/http/respond';
import { reasonedSocket } from '../../core/protocol/reasoned-socket';
import { Compactor } from './compaction';
import { DocumentCache } from './document-cache';
import { type DocumentParts, wholeDocument } from './document-parts';
import { Y, type YDoc } from './esm';
import {
  type AwarenessState,
  decodeAwarenessUpdate,
  encodeAwarenessUpdate,
  isEmptyUpdate,
} from './yjs-codec';
import { YjsConnection, type YjsRoomServices } from './yjs-connection';
import { YJS_AWARENESS, YJS_UPDATE, yjsEvents } from './yjs-events';
import { YjsLog } from './yjs-log';
import { yjsMetrics } from './yjs-metrics';

/** The path prefix of the y-websocket endpoint: `WS /yjs/<room>`. */
export const YJS_PATH = '/yjs/';

/**
 * y-protocols clients renew their awareness state every 15 s and drop a peer's state
 * after 30 s without renewal (awareness `outdatedTimeout`); the server forgets a state
 * just as old, so a new joiner is not shown a client that is gone.
 */
export const AWARENESS_MAX_AGE_MS = 30_000;

/** A room's Yjs figures: the log tail past the snapshot, and the merged document's size. */
export interface YjsRoomFigures {
  readonly offset: number;
  readonly epoch: string;
  readonly snapshotOffset: number;
  readonly logEntries: number;
  readonly logBytes: number;
  readonly documentBytes: number;
}

/**
 * Yjs collaboration: the y-websocket protocol on `WS /yjs/<room>`, documents stored as
 * a snapshot plus the room's `yjs` update log, awareness shared through the backend.
 * Also the server-side API to read and change documents.
 */
export class YjsExtension implements Extension {
  readonly name = 'yjs';
  private installed:
    | {
        node: Host;
        awareness: AwarenessStore;
        log: YjsLog;
        compactor: Compactor;
        cache?: DocumentCache;
      }
    | undefined;
  private sockets: WebSocketServer | undefined;
  /** Open Yjs sockets per room on this node, to stop compaction bookkeeping when the last leaves. */
  private readonly local = new Map<string, number>();
  /** Per room with local clients: the newest awareness clock seen per client (see `newer`). */
  private readonly clocks = new Map<string, Map<number, { clock: number }>>();
  /** Awareness events already noted: each reaches every local client of its room. */
  private readonly recorded = new WeakSet<Event>();
  /** What every connection asks of the node and this module: one object for all of them. */
  private services: YjsRoomServices | undefined;
  /** This node's open Yjs sockets and their connections. */
  private readonly open = new Map<WebSocket, YjsConnection>();
  /**
   * Every socket's listeners (`this` is the socket): one function each for all of them,
   * where a closure per socket would be most of what an idle socket costs (bench S4).
   */
  private readonly socketMessage: (this: WebSocket, raw: RawData, isBinary: boolean) => void;
  private readonly socketClosed: (this: WebSocket) => void;
  private readonly socketFailed: (this: WebSocket, err: Error) => void;

  constructor() {
    const yjs = this;
    this.socketMessage = function message(this: WebSocket, raw: RawData, isBinary: boolean) {
      yjs.open.get(this)?.arrived(raw, isBinary);
    };
    this.socketClosed = function closed(this: WebSocket) {
      const conn = yjs.open.get(this);
      if (!conn) return;
      yjs.open.delete(this);
      yjs.require().node.track(yjs.closed(conn));
    };
    this.socketFailed = function failed(this: WebSocket, err: Error) {
      yjs.installed?.node.log.debug({ err, conn: yjs.open.get(this)?.id }, 'yjs socket error');
    };
  }

  install(node: Host): void {
    const { documents, awareness, history } = node.backend;
    for (const definition of yjsEvents(awareness)) node.registry.register(definition);
    node.metrics.declareEndpoint('yjs');
    const cache = node.config.yjsCacheBytes > 0 ? new DocumentCache(node.config.yjsCacheBytes) : undefined;
    const log = new YjsLog(documents, history, cache, node.config.yjsCompactEntries);
    const compactor = new Compactor(
      documents,
      log,
      { maxEntries: node.config.yjsCompactEntries, maxBytes: node.config.yjsCompactBytes },
      node.log.child({ module: 'yjs' }),
      yjsMetrics(node.metrics.registry),
    );
    this.installed = { node, awareness, log, compactor, cache };
    this.services = undefined;
    this.sockets = new WebSocketServer({
      noServer: true,
      // `open` tracks the sockets, without a close listener of ws's own per socket.
      clientTracking: false,
      maxPayload: node.config.yjsMaxFrameBytes,
      // y-websocket sends a document it holds again on every reconnect: after a frame over
      // the limit, reconnecting cannot help, and 4413 (4400-4499) makes y-websocket 3.x stop.
      WebSocket: reasonedSocket({
        bytes: node.config.yjsMaxFrameBytes,
        variable: 'YJS_MAX_FRAME_BYTES',
        code: CloseCode.YjsFrameTooBig,
      }),
    });
    node.addUpgrade(YJS_PATH, (req, socket, head, url) => void this.upgrade(req, socket, head, url));
    node.onPeerDown((dead) => this.clearNode(dead));
  }

  async close(): Promise<void> {
    for (const socket of this.open.keys()) socket.terminate();
    await this.installed?.compactor.idle();
  }

  /** The size of the room's update log and document, for the admin API. */
  async inspect(room: string): Promise<YjsRoomFigures> {
    const { log, compactor } = this.require();
    const state = await log.read(room);
    compactor.measured(room, state.offset, state.tailEntries, state.tailBytes);
    return {
      offset: state.offset,
      epoch: state.epoch,
      snapshotOffset: state.snapshotOffset,
      logEntries: state.tailEntries,
      logBytes: state.tailBytes,
      documentBytes: state.update.length,
    };
  }

  /** The room's current document as one Yjs update (snapshot merged with the log tail). */
  async getUpdate(room: string): Promise<Uint8Array> {
    const { log, compactor } = this.require();
    const state = await log.read(room);
    compactor.measured(room, state.offset, state.tailEntries, state.tailBytes);
    return state.update;
  }

  /** The document for a sync answer: from the cache when it can be, measured when read in full. */
  private async document(room: string, covering?: Position): Promise<DocumentParts> {
    const { log, compactor } = this.require();
    const document = await log.current(room, covering);
    if ('tailEntries' in document) {
      compactor.measured(room, document.offset, document.tailEntries, document.tailBytes);
      return document.parts;
    }
    return wholeDocument(document.update);
  }

  /** The room's current document as a fresh Y.Doc (the caller owns and destroys it). */
  async getDoc(room: string): Promise<YDoc> {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, await this.getUpdate(room));
    return doc;
  }

  /**
   * Applies an update from server code, through the same path as a client's: validated,
   * appended to the room's log, delivered to every client on every node. Resolves with
   * the update's position, or undefined for an update that changes nothing.
   */
  async applyUpdate(room: string, update: Uint8Array): Promise<Position | undefined> {
    if (changesNothing(update)) return undefined;
    const result = await this.require().node.emit(YJS_UPDATE, { room, data: update });
    return result.position;
  }

  /** Compacts the room's log now (unless another node is); resolves with whether this call did. */
  compact(room: string): Promise<boolean> {
    return this.require().compactor.compact(room);
  }

  private require(): NonNullable<YjsExtension['installed']> {
    if (!this.installed) throw new Error('the yjs extension is not installed on a started node');
    return this.installed;
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<void> {
    const { node } = this.require();
    const room = roomOf(url);
    if (room === undefined) {
      return refuseUpgrade(socket, 400, `the room name must be 1-${MAX_ROOM_NAME} characters`);
    }
    const decision = await node.authenticate(req, url, room);
    if (!decision.ok) return refuseUpgrade(socket, decision.status, decision.message);
    this.sockets!.handleUpgrade(req, socket, head, (ws) => {
      const conn = new YjsConnection(ws, decision.identity, room, this.roomServices(), socket);
      const flow = node.register(conn, ws);
      const count = (this.local.get(room) ?? 0) + 1;
      this.local.set(room, count);
      if (count === 1) {
        this.clocks.set(room, new Map());
        this.require().compactor.serve(room);
        this.require().cache?.retain(room);
      }
      this.open.set(ws, conn);
      ws.on('message', this.socketMessage);
      ws.on('close', this.socketClosed);
      ws.on('error', this.socketFailed);
      conn.open(flow);
    });
  }

  private async closed(conn: YjsConnection): Promise<void> {
    const { node, compactor, awareness } = this.require();
    await conn.settled().catch(() => {});
    await conn.clearAwareness().catch((err: unknown) => {
      node.log.warn({ err, conn: conn.id, room: conn.room }, 'could not clear awareness on close');
    });
    await node.disconnect(conn);
    const left = (this.local.get(conn.room) ?? 1) - 1;
    if (left > 0) this.local.set(conn.room, left);
    else {
      this.local.delete(conn.room);
      this.clocks.delete(conn.room);
      compactor.forget(conn.room);
      this.installed?.cache?.release(conn.room);
      await awareness.forgetRoom(node.id, conn.room).catch(() => {
        // Only a longer list for the reaper to visit; the next leave tries again.
      });
    }
  }

  /** A node died: its clients' awareness states are removed from the store and from every peer. */
  private async clearNode(dead: string): Promise<void> {
    const { node, awareness } = this.require();
    for (const { room, entries } of await awareness.removeNode(dead)) {
      const update = encodeAwarenessUpdate(
        entries.map((e) => ({ client: e.client, clock: e.clock + 1, state: 'null' })),
      );
      await node.emit(YJS_AWARENESS, { room, data: update }).catch((err: unknown) => {
        node.log.warn({ err, room, dead }, 'could not announce a dead node’s awareness removal');
      });
    }
  }

  /**
   * Notes the clocks of an awareness event that reached this node's clients of `room`
   * (once per event, however many clients), so relays of it can be dropped without Redis.
   */
  private recordAwareness(room: string, event: Event): void {
    if (this.recorded.has(event) || !(event.data instanceof Uint8Array)) return;
    this.recorded.add(event);
    const clocks = this.clocks.get(room);
    if (!clocks) return;
    try {
      for (const { client, clock } of decodeAwarenessUpdate(event.data)) {
        if ((clocks.get(client)?.clock ?? -1) <= clock) clocks.set(client, { clock });
      }
    } catch {
      // Only accepted updates are delivered; one that does not decode is simply not noted.
    }
  }

  private roomServices(): YjsRoomServices {
    this.services ??= this.makeRoomServices();
    return this.services;
  }

  private makeRoomServices(): YjsRoomServices {
    const { node, awareness, compactor } = this.require();
    return {
      log: node.log,
      enter: (room, conn) => node.hub.enter(room, conn),
      loadingDocument: (room) => node.hub.loadingDocument(room),
      document: (room, covering) => this.document(room, covering),
      awareness: async (room) => {
        const entries = await awareness.list(room, AWARENESS_MAX_AGE_MS);
        return entries.length > 0 ? encodeAwarenessUpdate(entries) : undefined;
      },
      newer: async (room, states) => {
        // y-websocket clients relay every state they receive: in a room of n clients each
        // change comes back n times. What this node has already seen is dropped here, in
        // memory; only the rest is checked against the store (changes from other nodes'
        // clients this node has not seen yet, and first sightings).
        const seen = this.clocks.get(room);
        const unseen = seen ? states.filter((state) => isNewer(state, seen.get(state.client))) : states;
        if (unseen.length === 0) return [];
        const stored = await awareness.of(
          room,
          unseen.map((s) => s.client),
        );
        return unseen.filter((state) => isNewer(state, stored.get(state.client)));
      },
      seen: (room, event) => this.recordAwareness(room, event),
      route: (conn, frame) => node.fromSocket(conn, frame),
      emitAwareness: async (room, update) => {
        await node.emit(YJS_AWARENESS, { room, data: update });
      },
      appended: (room, offset, bytes) => compactor.appended(room, offset, bytes),
    };
  }
}

/**
 * The rule of y-protocols' applyAwarenessUpdate: a state replaces the known one when its
 * clock is higher, or when it is a removal (null) at the same clock. A removal of a client
 * nobody knows changes nothing.
 */
function isNewer(state: AwarenessState, stored: { readonly clock: number } | undefined): boolean {
  if (!stored) return state.state !== 'null';
  return stored.clock < state.clock || (stored.clock === state.clock && state.state === 'null');
}

/** An update that decodes and carries nothing is not worth a log entry; bad bytes go on to be refused. */
function changesNothing(update: Uint8Array): boolean {
  try {
    return isEmptyUpdate(update);
  } catch {
    return false;
  }
}

/** The URL-decoded rest of the path, or undefined when it is empty, too long or badly encoded. */
function roomOf(url: URL): string | undefined {
  let room: string;
  try {
    room = decodeURIComponent(url.pathname.slice(YJS_PATH.length));
  } catch {
    return undefined;
  }
  return room.length >= 1 && room.length <= MAX_ROOM_NAME ? room : undefined;
}
