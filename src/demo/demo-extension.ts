import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Extension, Host } from '../core/host';
import { demoBuildDir } from './paths';

/** One file of the bundled page, held in memory: the whole page is a few hundred KiB. */
interface Asset {
  readonly body: Buffer;
  /** Sent when the client accepts gzip; made on first use, so a node that never serves the page never pays for it. */
  gzipped: Buffer | undefined;
  readonly type: string;
  readonly etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/**
 * Everything the page loads comes from this node ('self'); its sockets may go to the
 * other nodes of a `?nodes=` list, hence any ws:/wss: origin. CodeMirror injects its
 * styles at run time, which needs 'unsafe-inline' for styles only.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; img-src 'self' data:";

export interface DemoOptions {
  /** Where the bundled page is; defaults to dist/demo of this package. */
  readonly dir?: string;
}

/**
 * The demo page at `GET /` and its assets under `GET /demo/`: a collaborative editor,
 * room chat and member list (docs/demo.md). Served from memory, read once at start;
 * when the page was never built, `GET /` says how to build it instead of failing.
 */
export function demoExtension(options: DemoOptions = {}): Extension {
  return {
    name: 'demo',
    install(node: Host) {
      const dir = options.dir ?? demoBuildDir();
      const assets = loadAssets(dir);
      const page = assets.get('index.html');
      if (!page) {
        node.log.warn({ dir }, 'demo page not built (npm run build); GET / answers 503');
        node.route('GET /', (_req, res) => {
          res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('The demo page is not built: run `npm run build`.\n');
        });
        return;
      }
      const serveAsset = (req: IncomingMessage, res: ServerResponse, url: URL) => {
        const asset = assets.get(url.pathname.slice('/demo/'.length));
        if (!asset || asset === page) {
          res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('not found\n');
          return;
        }
        send(req, res, asset);
      };
      // HEAD as well: Node's http server sends the headers of a HEAD answer without the body.
      for (const method of ['GET', 'HEAD']) {
        node.route(`${method} /`, (req, res) => send(req, res, page));
        node.route(`${method} /demo/*`, serveAsset);
      }
    },
  };
}

/** Reads every file of the build folder; names are matched exactly, so no path leaves it. */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(dir)) return assets;
  for (const name of readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (!type) continue;
    const body = readFileSync(path.join(dir, name));
    const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
    assets.set(name, { body, gzipped: undefined, type, etag });
  }
  return assets;
}

function send(req: IncomingMessage, res: ServerResponse, asset: Asset): void {
  const headers: Record<string, string | number> = {
    'content-type': asset.type,
    etag: asset.etag,
    // File names carry no hash, so the browser revalidates each time (a 304 when unchanged).
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'content-security-policy': CONTENT_SECURITY_POLICY,
    vary: 'accept-encoding',
  };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  if (gzip) asset.gzipped ??= gzipSync(asset.body);
  const body = gzip && asset.gzipped ? asset.gzipped : asset.body;
  if (gzip) headers['content-encoding'] = 'gzip';
  headers['content-length'] = body.length;
  res.writeHead(200, headers);
  res.end(body);
}
