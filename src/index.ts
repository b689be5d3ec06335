/** The public API for embedding swarmcast and writing handlers. */

/** The schema library of `defineEvent`, so that an app's schemas are of the version swarmcast checks with. */
export { z } from 'zod';
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
export { type Config, configFromOptions, loadConfig, type SwarmOptions } from './config';
export type { Connection, Identity, RoomGrants } from './connection';
export { type AttachOptions, attach, type Swarmcast, type YjsDocuments } from './embed/attach';
export { CloseCode, ConfigError, ErrorCode, SwarmError } from './errors';
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
export { YjsExtension } from './yjs/yjs-extension';
