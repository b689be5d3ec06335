import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { Backend } from '../backend/backend';
import type { Authenticator, Authorizer, UpgradeDecision } from './access-hooks';
import type { Config } from './config';
import type { Connection } from './connection';
import type { ConnectionTable } from './connection-table';
import type { RoomEvent } from './events/event';
import type { EmitOptions, EmitResult, NodeServices } from './events/event-definition';
import type { EventRegistry } from './events/registry';
import type { DurableWait, IncomingFrame } from './events/router';
import type { HttpHandler } from './http/respond';
import type { UpgradeHandler } from './http/routes';
import type { FlowControl } from './limits/flow-control';
import type { Logger } from './log';
import type { NodeMetrics } from './metrics/node-metrics';
import type { RoomHub } from './rooms/room-hub';

/**
 * What a module sees of the node it is installed on: the node's parts, and the hooks it
 * registers into. Every hook adds; none replaces what another module registered.
 */
export interface Host {
  readonly id: string;
  readonly config: Config;
  readonly log: Logger;
  readonly backend: Backend;
  /** Where modules declare their event types (and with them, their streams). */
  readonly registry: EventRegistry;
  readonly hub: RoomHub;
  readonly connections: ConnectionTable;
  /** This node's Prometheus figures; modules add their own figures to its `registry`. */
  readonly metrics: NodeMetrics;
  /** What handlers see of the node. */
  readonly services: NodeServices;
  readonly isDraining: boolean;

  /** Registers an HTTP route, `"GET /path"`; a path ending in `/*` matches the prefix. */
  route(key: string, handler: HttpHandler): void;
  /** Serves WebSocket upgrades whose path is `path` or starts with `path` when it ends in `/`. */
  addUpgrade(path: string, handler: UpgradeHandler): void;
  /** Adds a check to /readyz: return a reason to be not ready, or undefined. */
  addReadinessCheck(check: () => string | undefined): void;
  /**
   * Runs `handler` when another node died without saying goodbye, on exactly one survivor
   * per dead node, after that node's room members were removed and announced.
   */
  onPeerDown(handler: (node: string) => Promise<void>): void;
  /** Adds an authenticator; they run in registration order (src/core/access-hooks.ts). */
  addAuthenticator(authenticator: Authenticator): void;
  /** Adds an authorizer; every one must allow. */
  addAuthorizer(authorizer: Authorizer): void;

  /** Runs the authenticators on an upgrade request. */
  authenticate(req: IncomingMessage, url: URL, room: string | undefined): Promise<UpgradeDecision>;
  /** Hands a decoded client frame to the router, which answers it. */
  fromSocket(conn: Connection, frame: IncomingFrame): Promise<void>;
  /** Dispatches an event from server-side code, through the same router as client events. */
  emit(type: string, options: EmitOptions): Promise<EmitResult>;
  /** Calls `listener` with every room event this node appended to a stream (the storage module's cue). */
  onAppended(listener: (event: RoomEvent) => void): void;
  /** How `"durable": true` frames wait for the database; without one they are answered `unavailable`. */
  setDurableWait(wait: DurableWait): void;
  /**
   * Counts a new connection; with its `socket`, the node's limits apply to it, and a
   * connection that does not limit its own rate gets the flow control that paces it.
   */
  register(conn: Connection, socket: WebSocket): FlowControl | undefined;
  register(conn: Connection): undefined;
  /** Forgets a closed connection and takes it out of its rooms everywhere. */
  disconnect(conn: Connection, settled?: Promise<void>): Promise<void>;
  /** Keeps a promise of close work so a drain can wait for it. */
  track(work: Promise<void>): void;
}

/** A module that plugs into a node: the JSON endpoint, Yjs, auth, metrics, the admin API, the demo page. */
export interface Extension {
  readonly name: string;
  install(host: Host): void | Promise<void>;
  close?(): void | Promise<void>;
}
