import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log';
import { type HttpHandler, refuseUpgrade, sendJson } from './respond';

/** Handles an upgrade on a path prefix (the Yjs protocol registers /yjs/). */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => void;

/** What a request matching no route is passed on to: the next middleware of the app. */
export type NextHandler = (err?: unknown) => void;

/**
 * A node's HTTP surface: plain routes (`"GET /path"`, or a prefix ending in `/*`) and
 * WebSocket upgrade endpoints (a path, or a prefix ending in `/`), all under the node's
 * path prefix. Modules add theirs without the prefix; handlers see URLs without it. What
 * matches nothing is a 404 (or the app's, when the node is embedded), a handler that
 * throws a 500.
 */
export class HttpRoutes {
  private readonly routes = new Map<string, HttpHandler>();
  private readonly upgrades = new Map<string, UpgradeHandler>();

  constructor(
    private readonly log: Logger,
    private readonly prefix = '',
  ) {}

  route(key: string, handler: HttpHandler): void {
    this.routes.set(key, handler);
  }

  upgrade(path: string, handler: UpgradeHandler): void {
    this.upgrades.set(path, handler);
  }

  /** Serves a request; one that matches no route goes to `next` when given, else gets 404. */
  async request(req: IncomingMessage, res: ServerResponse, next?: NextHandler): Promise<void> {
    const url = this.local(requestPath(req));
    const handler = url && this.find(`${req.method ?? 'GET'} ${url.pathname}`);
    if (!url || !handler) {
      if (next) next();
      else sendJson(res, 404, { error: `no route for ${req.method} ${requestPath(req).split('?')[0]}` });
      return;
    }
    try {
      await handler(req, res, url);
    } catch (err) {
      this.log.error({ err, path: url.pathname }, 'http handler failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    }
  }

  /**
   * The endpoint an upgrade belongs to, bound to its URL without the prefix; undefined
   * when no endpoint of this node serves its path.
   */
  upgradeFor(req: IncomingMessage): ((socket: Duplex, head: Buffer) => void) | undefined {
    const url = this.local(req.url ?? '/');
    if (!url) return undefined;
    for (const [path, handler] of this.upgrades) {
      if (url.pathname === path || (path.endsWith('/') && url.pathname.startsWith(path))) {
        return (socket, head) => handler(req, socket, head, url);
      }
    }
    return undefined;
  }

  /** Refuses an upgrade that no endpoint serves. */
  static refuseUnknown(req: IncomingMessage, socket: Duplex): void {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    refuseUpgrade(socket, 404, `no WebSocket endpoint at ${path}`);
  }

  /** The URL as the routes see it, without the prefix; undefined when it is outside the prefix. */
  private local(path: string): URL | undefined {
    const url = new URL(path, 'http://localhost');
    if (!this.prefix) return url;
    if (url.pathname !== this.prefix && !url.pathname.startsWith(`${this.prefix}/`)) return undefined;
    url.pathname = url.pathname.slice(this.prefix.length) || '/';
    return url;
  }

  private find(key: string): HttpHandler | undefined {
    const exact = this.routes.get(key);
    if (exact) return exact;
    for (const [pattern, handler] of this.routes) {
      if (pattern.endsWith('/*') && key.startsWith(pattern.slice(0, -1))) return handler;
    }
    return undefined;
  }
}

/**
 * The path as the client sent it. Express hands a middleware mounted at `/x` a `req.url`
 * without `/x` and keeps the whole one in `originalUrl`; reading that one lets the
 * prefix mean the same wherever the app mounts the handler.
 */
function requestPath(req: IncomingMessage): string {
  const original = (req as IncomingMessage & { originalUrl?: unknown }).originalUrl;
  return typeof original === 'string' ? original : (req.url ?? '/');
}
