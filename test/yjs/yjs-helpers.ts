import WebSocket from 'ws';
import { Y, type YDoc } from '../../src/modules/yjs/esm';
import type { SwarmNode } from '../../src/node';
import { waitFor, within } from '../helpers/wait';

type YWebsocketModule = typeof import('y-websocket', { with: { 'resolution-mode': 'import' }});
type AwarenessModule = typeof import('y-protocols/awareness', { with: { 'resolution-mode': 'import' }});

const { WebsocketProvider }: YWebsocketModule = require('y-websocket');
export const awarenessProtocol: AwarenessModule = require('y-protocols/awareness');
export type Provider = InstanceType<YWebsocketModule['WebsocketProvider']>;

export function yjsServerUrl(node: SwarmNode | number): string {
  return `ws://127.0.0.1:${typeof node === 'number' ? node : node.port}/yjs`;
}

/**
 * A real, unmodified y-websocket provider on `room` of `node`. Tests destroy it (or all
 * of them with `destroyAll`).
 */
export function provider(
  node: SwarmNode | number,
  room: string,
  doc: YDoc = new Y.Doc(),
  params: Record<string, string> = {},
  /** The WebSocket class the provider uses: `ws`'s, or a subclass a test shapes. */
  socketClass: new (url: string, protocols?: string | string[]) => WebSocket = WebSocket,
): Provider {
  const created = new WebsocketProvider(yjsServerUrl(node), room, doc, {
    params,
    WebSocketPolyfill: socketClass as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
  providers.add(created);
  // Every provider adds a process 'exit' listener (to remove its awareness state on exit),
  // so a test with a busy room passes Node's default of 10 without any leak.
  process.setMaxListeners(Math.max(process.getMaxListeners(), providers.size + 10));
  return created;
}

const providers = new Set<Provider>();

/** Destroys every provider the test made, and their documents. */
export function destroyAll(): void {
  for (const p of providers) {
    p.awareness.destroy();
    p.destroy();
    p.doc.destroy();
  }
  providers.clear();
}

/** Waits until the provider received the server's sync step 2. */
export async function synced(p: Provider, timeoutMs = 5000): Promise<Provider> {
  await waitFor(() => p.synced, `provider on ${p.roomname} to sync`, timeoutMs);
  return p;
}

/** A raw `ws` client of /yjs/<room>, recording the binary frames it receives. */
export class RawYjsClient {
  readonly frames: Uint8Array[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    socket.on('message', (raw) => this.frames.push(new Uint8Array(raw as Buffer)));
  }

  static async connect(node: SwarmNode | number, room: string): Promise<RawYjsClient> {
    const socket = new WebSocket(`${yjsServerUrl(node)}/${room}`);
    const client = new RawYjsClient(socket);
    await within(
      new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      }),
      'raw yjs connection',
    );
    return client;
  }

  send(bytes: Uint8Array | string): void {
    this.socket.send(bytes);
  }

  /** The first received frame (already or still to come) that matches. */
  next(match: (frame: Uint8Array) => boolean, what: string): Promise<Uint8Array> {
    return waitFor(() => this.frames.find(match), what);
  }
}

/** The HTTP status a refused upgrade answers with. */
export function upgradeStatus(url: string): Promise<number> {
  return within(
    new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        socket.terminate();
      });
      socket.once('open', () => {
        socket.close();
        reject(new Error('the upgrade was accepted'));
      });
      socket.once('error', () => {});
    }),
    `upgrade answer of ${url}`,
  );
}
