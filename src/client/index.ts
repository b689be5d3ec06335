/**
 * `swarmcast/client`: the client library of the JSON event protocol (`WS /events`), for
 * browsers and Node. No dependency: the global `WebSocket`, or `ws` passed in. See docs/client.md.
 */
import { type ConnectOptions, SwarmClient } from './client';
import type { EventList } from './typed-events';

/**
 * Connects, and keeps connecting: reconnects with backoff (through `urls`), rejoins every
 * room from its last offset, refreshes the token. `connect<typeof appEvents>()` types
 * the app's events from its `defineEvent` definitions.
 */
export function connect<L extends EventList = EventList>(options: ConnectOptions): SwarmClient<L> {
  return new SwarmClient<L>(options);
}

export { CloseCode, ErrorCode } from '../core/errors';
export type {
  ClientFrame,
  EventFrame,
  JoinAnswer,
  Member,
  NodeInfoAnswer,
  RefreshAnswer,
  RoomEventAck,
  ServerFrame,
  StateChange,
  Welcome,
  WireSender,
} from '../core/protocol/wire';
export type { BackoffOptions } from './backoff';
export type { ClientState, CloseInfo, ConnectOptions } from './client';
export { SwarmClient } from './client';
export { ClientErrorCode, SwarmClientError } from './client-error';
export { type CloseAction, closeAction } from './close-policy';
export type { EventMeta, JoinOptions, Room, RoomReset, RoomStatus, SendOptions } from './room';
export type {
  EventList,
  EventShape,
  RequestAnswer,
  RequestData,
  RequestType,
  RoomEventData,
  RoomEventType,
} from './typed-events';
export type { WebSocketConstructor, WebSocketLike } from './websocket';
