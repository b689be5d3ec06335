/** The public API for embedding swarmcast and writing handlers. */

export type { Authenticator, Authorizer, UpgradeDecision } from './access-hooks';
export { AuthExtension, authExtension } from './auth/auth-extension';
export { revokeUser } from './auth/revoke';
export { createBackend, MemoryBackend, SharedMemory } from './backend';
export type { AwarenessEntry, AwarenessStore } from './backend/awareness-store';
export type {
  Backend,
  Bus,
  HistoryStore,
  Member,
  MemberStore,
  NodeRegistry,
  StateStore,
} from './backend/backend';
export type { DocumentSnapshot, DocumentStore } from './backend/document-store';
export type { RevocationRecord, RevocationStore } from './backend/revocation-store';
export { type Config, loadConfig } from './config';
export type { Connection, Identity, RoomGrants } from './connection';
export { CloseCode, ErrorCode, SwarmError } from './errors';
export type { Event, RoomEvent, StoredEvent } from './events/event';
export {
  type Access,
  type AnyEventDefinition,
  defineEvent,
  type EventDefinition,
  type HandlerContext,
  type Scope,
} from './events/event-definition';
export type { Extension, Host } from './host';
export { SwarmNode, type SwarmNodeOptions } from './node';
