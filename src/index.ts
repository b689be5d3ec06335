/** The public API for embedding swarmcast and writing handlers. */

/** The schema library of `defineEvent`, so that an app's schemas are of the version swarmcast checks with. */
export { z } from 'zod';
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
export { type Config, configFromOptions, loadConfig, type SwarmOptions } from './config';
export type { Connection, Identity, RoomGrants } from './connection';
export { type AttachOptions, attach, type Swarmcast, type YjsDocuments } from './embed/attach';
export { CloseCode, ConfigError, ErrorCode, SwarmError } from './errors';
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
export { YjsExtension } from './yjs/yjs-extension';
