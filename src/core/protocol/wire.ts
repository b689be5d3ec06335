/**
 * The frames of the JSON event protocol on `WS /events` (docs/protocol.md), declared once
 * for the server's codec and handlers, the client library, the demo page and the tests.
 * Types only and no Node import: the browser build of the client includes this module.
 */
import type { ErrorCode } from '../errors';

/** A client's correlation id, echoed in the `ack` or `error` that answers its frame. */
export type FrameId = string | number;

/** Client to server: one event. */
export interface ClientFrame {
  readonly type: string;
  readonly room?: string;
  readonly data?: unknown;
  readonly id?: FrameId;
  /** Ask for the ack only once the event is in the database (docs/storage.md). */
  readonly durable?: boolean;
}

/** Who caused an event; `conn` and `user` are absent for events the server emitted. */
export interface WireSender {
  readonly node: string;
  readonly conn?: string;
  readonly user?: string;
}

export interface Welcome {
  readonly node: string;
  readonly conn: string;
  readonly user: string;
}

export interface WelcomeFrame {
  readonly type: 'welcome';
  readonly data: Welcome;
}

export interface AckFrame<A = unknown> {
  readonly type: 'ack';
  readonly id: FrameId;
  readonly data: A;
}

export interface ErrorFrame {
  readonly type: 'error';
  readonly id?: FrameId;
  readonly code: ErrorCode;
  readonly message: string;
}

/** A room event as members receive it. `offset` is absent for ephemeral (`stream: null`) events. */
export interface EventFrame<D = unknown> {
  readonly type: string;
  readonly room: string;
  readonly data: D;
  readonly from: WireSender;
  readonly offset?: number;
}

/** Every frame the server sends; an event frame is anything that is not one of the three others. */
export type ServerFrame = WelcomeFrame | AckFrame | ErrorFrame | EventFrame;

export interface Member {
  readonly conn: string;
  readonly user: string;
  readonly node: string;
}

/** `room.join` data. `since` and `epoch` come from the last join answer and the last event seen. */
export interface JoinRequest {
  readonly room: string;
  readonly since?: number;
  readonly epoch?: string;
}

/** The `room.join` ack: the room as of `offset`; the events after it follow. */
export interface JoinAnswer {
  readonly room: string;
  readonly members: readonly Member[];
  readonly state: Readonly<Record<string, unknown>>;
  readonly offset: number;
  readonly epoch: string;
  /** Only with `since`: whether the missed events follow (true) or are gone (false). */
  readonly recovered?: boolean;
}

export interface LeaveAnswer {
  readonly room: string;
}

/** The ack of a room-scope event: its place in the room's history. */
export interface RoomEventAck {
  readonly offset: number;
}

export interface NodeInfoAnswer {
  readonly node: string;
  readonly backend: string;
  readonly connections: number;
  readonly rooms: number;
}

export interface RefreshRequest {
  readonly token: string;
}

/** The `auth.refresh` ack; `expiresAt` in Unix seconds, null for a token without `exp`. */
export interface RefreshAnswer {
  readonly user: string;
  readonly expiresAt: number | null;
}

/** `room.state.set` data, and the `room.state.changed` members receive. */
export interface StateChange {
  readonly key: string;
  /** Any JSON value; null deletes the key. */
  readonly value: unknown;
}

/** `room.reset` data: the room's history in `stream` was reset; join again without `since`. */
export interface RoomResetData {
  readonly room: string;
  readonly stream: string;
  readonly offset: number;
  readonly epoch: string;
}

/** The built-in event types as a client sends them: data, and the ack's data. */
export interface BuiltinRequests {
  'room.join': { readonly data: JoinRequest; readonly answer: JoinAnswer };
  'room.leave': { readonly data: { readonly room: string }; readonly answer: LeaveAnswer };
  'room.state.set': { readonly data: StateChange; readonly answer: RoomEventAck };
  'node.info': { readonly data: Record<string, never>; readonly answer: NodeInfoAnswer };
  'auth.refresh': { readonly data: RefreshRequest; readonly answer: RefreshAnswer };
}

/** The built-in events members of a room receive, by type, with their data. */
export interface BuiltinRoomEvents {
  'room.member.joined': Member;
  'room.member.left': Member;
  'room.state.changed': StateChange;
}

/**
 * Browsers cannot set headers on a WebSocket, but they can list subprotocols. A client
 * sends its token as the entry `swarmcast.token.<jwt>` next to a real subprotocol
 * (`new WebSocket(url, ['swarmcast', 'swarmcast.token.' + jwt])`); JWT characters are
 * all legal in a subprotocol name.
 */
export const TOKEN_PROTOCOL_PREFIX = 'swarmcast.token.';

/** Frame types the protocol itself uses; never an event's. */
export const WELCOME = 'welcome';
export const ACK = 'ack';
export const ERROR = 'error';
export const ROOM_RESET = 'room.reset';
