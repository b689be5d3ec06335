import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log';
import { type HttpHandler, refuseUpgrade, sendJson } from './respond';

/** Handles an upgrade on a path prefix (the Yjs protocol registers /yjs/). */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => void;

/**
 * A node's HTTP surface: plain routes (`"GET /path"`, or a prefix ending in `/*`) and
 * WebSocket upgrade endpoints (a path, or a prefix ending in `/`). Modules add theirs;
 * what matches nothing is a 404, a handler that throws a 500.
 */
export class HttpRoutes {
  private readonly routes = new Map<string, HttpHandler>();
  private readonly upgrades = new Map<string, UpgradeHandler>();

  constructor(private readonly log: Logger) {}

  route(key: string, handler: HttpHandler): void {
    this.routes.set(key, handler);
  }

  upgrade(path: string, handler: UpgradeHandler): void {
    this.upgrades.set(path, handler);
  }

  async request(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const handler = this.find(`${req.method ?? 'GET'} ${url.pathname}`);
    if (!handler) {
      sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
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

  /** Hands the upgrade to the endpoint for its path, or refuses it with 404. */
  dispatchUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    for (const [path, handler] of this.upgrades) {
      if (url.pathname === path || (path.endsWith('/') && url.pathname.startsWith(path))) {
        handler(req, socket, head, url);
        return;
      }
    }
    refuseUpgrade(socket, 404, `no WebSocket endpoint at ${url.pathname}`);
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
