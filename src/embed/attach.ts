import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createBackend } from '../backend';
import { configFromOptions, type SwarmOptions } from '../core/config';
import { ConfigError } from '../core/errors';
import type { AnyEventDefinition, EmitOptions, EmitResult } from '../core/events/event-definition';
import type { NextHandler } from '../core/http/routes';
import { createLogger, type Logger } from '../core/log';
import { demoExtension } from '../demo/demo-extension';
import { adminExtension } from '../modules/admin/admin-api';
import { authExtension } from '../modules/auth/auth-extension';
import { metricsExtension } from '../modules/metrics/metrics-extension';
import { YjsExtension } from '../modules/yjs/yjs-extension';
import { type Extension, SwarmNode } from '../node';
import { drainOnSignals } from './signals';

export interface AttachOptions {
  /**
   * The settings of docs/configuration.md as an object, validated with the messages their
   * environment variables get. `port` and `host` are the app's server's and are not used.
   */
  readonly config?: SwarmOptions;
  /** Put before every swarmcast path (`/rt`: `/rt/events`, `/rt/yjs/<room>`, `/rt/healthz`). */
  readonly prefix?: string;
  /** The app's own event types (`defineEvent`), served beside the built-in ones. */
  readonly handlers?: readonly AnyEventDefinition[];
  /**
   * Signals that start a drain. After the drain, a signal the app does not listen for
   * itself is raised again, so it ends the process as it would without swarmcast; an app
   * that listens decides for itself (`await swarm.drain()`, then exit). `[]`: none.
   */
  readonly drainOn?: readonly NodeJS.Signals[];
  /** Node.js process figures (CPU, memory, GC) in `/metrics`; off, since the app may export its own. */
  readonly processMetrics?: boolean;
  /** The demo page at `GET /`; it connects to `/events` and `/yjs/` at the root, so not with a prefix. */
  readonly demo?: boolean;
  /** Defaults to a pino logger at the configured level. */
  readonly log?: Logger;
}

/** The server-side document API of the Yjs module (docs/yjs.md). */
export type YjsDocuments = Pick<YjsExtension, 'getDoc' | 'getUpdate' | 'applyUpdate' | 'compact'>;

/** swarmcast attached to an app's server: its HTTP routes, and its server-side API for the app's code. */
export interface Swarmcast {
  /** This node's id, as clients see it in `welcome` and `from.node`. */
  readonly id: string;
  /** The node itself, for what this interface does not cover. */
  readonly node: SwarmNode;
  /**
   * Health, readiness, metrics, the admin API (with an `adminToken`) and the demo page (when
   * asked for), as Express or Connect middleware: what it does not serve goes to `next`.
   */
  readonly http: (req: IncomingMessage, res: ServerResponse, next?: NextHandler) => void;
  /**
   * Whether swarmcast serves this upgrade. An app that listens for upgrades too ends the
   * ones neither serves, which would otherwise hang: `else if (!swarm.serves(req)) socket.destroy()`.
   */
  serves(req: IncomingMessage): boolean;
  /** Read and change Yjs documents from server code; clients on every node see the change. */
  readonly yjs: YjsDocuments;
  /** Dispatches an event as the server, through the same router and rules as a client's. */
  emit(type: string, options: EmitOptions): Promise<EmitResult>;
  /**
   * Closes every swarmcast socket with 1012 (clients reconnect elsewhere), turns readiness
   * 503 and closes the backend. The app's server and routes stay; the same promise each call.
   */
  drain(): Promise<void>;
  /** Stops at once without telling clients (tests). */
  close(): Promise<void>;
}

const PREFIX = /^(\/[A-Za-z0-9_.~-]+)+$/;

/**
 * Gives an app's own `http`/`https` server swarmcast's WebSocket endpoints (`/events`,
 * `/yjs/<room>`, under `prefix`), leaving every other upgrade to the app's listeners, and
 * starts the node: its backend (Redis when `redisUrl` is set), the Yjs, auth, metrics and
 * admin modules. Resolves once it serves; the app listens when it likes, before or after.
 */
export async function attach(server: Server, options: AttachOptions = {}): Promise<Swarmcast> {
  const config = configFromOptions(options.config);
  const prefix = options.prefix ?? '';
  if (prefix !== '' && !PREFIX.test(prefix)) {
    throw new ConfigError(
      'prefix',
      `must be a path like /realtime ("/" and segments of A-Z a-z 0-9 _ . ~ -, no "/" at the end), got "${prefix}"`,
      'prefix',
    );
  }
  if (options.demo && prefix !== '') {
    throw new ConfigError(
      'demo',
      'the demo page connects to /events and /yjs/ at the root; use no prefix',
      'demo',
    );
  }
  const log = options.log ?? createLogger(config.logLevel, config.nodeId);
  const yjs = new YjsExtension();
  const extensions: Extension[] = [
    metricsExtension({ processMetrics: options.processMetrics ?? false }),
    authExtension(),
    yjs,
    adminExtension(config.adminToken, { inspectors: { yjs: (room) => yjs.inspect(room) } }),
  ];
  if (options.demo) extensions.push(demoExtension());
  const node = new SwarmNode({
    config,
    backend: createBackend(config, log),
    handlers: options.handlers,
    extensions,
    log,
    server,
    pathPrefix: prefix,
  });
  await node.start();
  const stopListening = drainOnSignals(options.drainOn ?? ['SIGTERM', 'SIGINT'], log, () => node.drain());
  return {
    id: node.id,
    node,
    http: (req, res, next) => node.handleRequest(req, res, next),
    serves: (req) => node.servesUpgrade(req),
    yjs,
    emit: (type, emitOptions) => node.emit(type, emitOptions),
    drain: () => node.drain(),
    close: async () => {
      stopListening();
      await node.close();
    },
  };
}
