/**
 * The event data model: what an event is, where it sits in a room stream. The handler
 * API that declares and runs events is in event-definition.ts.
 */

/**
 * A room's ordered, durable streams. A stream exists because an event definition names
 * it (`stream`); every room-scope event goes to its definition's stream (DEFAULT_STREAM
 * when it names none) and gets its offset there, or to none when its definition says
 * `stream: null` (ephemeral: awareness, typing indicators).
 */
export type StreamName = string;

/** The stream of room events whose definition names none. */
export const DEFAULT_STREAM: StreamName = 'events';

/** Who caused an event. `conn`/`user` are absent for server-emitted events. Clients never set it. */
export interface Sender {
  readonly node: string;
  readonly conn?: string;
  readonly user?: string;
}

/** A position in a room stream. The epoch changes when the stream's history is reset. */
export interface Position {
  readonly offset: number;
  readonly epoch: string;
}

/** Event payloads are JSON values, or raw bytes for binary protocols (Yjs). */
export type EventData = unknown;

export interface Event<D = EventData> {
  readonly type: string;
  readonly room?: string;
  readonly data: D;
  /** The client's correlation id, echoed in `ack` and `error`. Never published. */
  readonly id?: string | number;
  readonly from: Sender;
  /** Set once the event is appended to a room stream. */
  readonly stream?: StreamName;
  readonly offset?: number;
  readonly epoch?: string;
}

/** A room event as it travels between nodes and to members. */
export interface RoomEvent<D = EventData> extends Event<D> {
  readonly room: string;
}

/**
 * A room event that has been through a stream: what the bus hands back from an append
 * and what history reads return, with its position always present.
 */
export interface StoredEvent<D = EventData> extends RoomEvent<D> {
  readonly stream: StreamName;
  readonly offset: number;
  readonly epoch: string;
}
