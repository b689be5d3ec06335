/** The public API for embedding swarmcast and writing handlers. */

/** The schema library of `defineEvent`, so that an app's schemas are of the version swarmcast checks with. */
export { z } from 'zod';
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
export type { Authenticator, Authorizer, UpgradeDecision } from './core/access-hooks';
export { type Config, configFromOptions, loadConfig, type SwarmOptions } from './core/config';
export type { Connection, Identity, RoomGrants } from './core/connection';
export { CloseCode, ConfigError, ErrorCode, SwarmError } from './core/errors';
export type { Event, RoomEvent, StoredEvent } from './core/events/event';
export {
  type Access,
  type AnyEventDefinition,
  defineEvent,
  type EventDefinition,
  type HandlerContext,
  type Scope,
} from './core/events/event-definition';
export type { Extension, Host } from './core/host';
export { type AttachOptions, attach, type Swarmcast, type YjsDocuments } from './embed/attach';
export { AuthExtension, authExtension } from './modules/auth/auth-extension';
export { revokeUser } from './modules/auth/revoke';
export { YjsExtension } from './modules/yjs/yjs-extension';
export { SwarmNode, type SwarmNodeOptions } from './node';
