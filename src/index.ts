/** The public API for embedding swarmcast and writing handlers. */

export { AuthExtension, authExtension } from './auth/auth-extension';
export { revokeUser } from './auth/revoke';
export { createBackend } from './backend';
export type {
  Backend,
  Bus,
  HistoryStore,
  Member,
  MemberStore,
  NodeRegistry,
  StateStore,
} from './backend/backend';
export { MemoryBackend } from './backend/memory/memory-backend';
export { MemoryCluster } from './backend/memory/memory-cluster';
export { type Config, loadConfig } from './config';
export type { Connection, Identity, RoomGrants } from './connection';
export { CloseCode, ErrorCode, SwarmError } from './errors';
export {
  type Access,
  type AnyEventDefinition,
  defineEvent,
  type Event,
  type EventDefinition,
  type HandlerContext,
  type Scope,
} from './events/event';
export { type Extension, SwarmNode, type SwarmNodeOptions } from './node';
