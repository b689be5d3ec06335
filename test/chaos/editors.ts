import WebSocket from 'ws';
import { Y, type YDoc } from '../../src/modules/yjs/esm';
import type { Random } from './random';

type YWebsocketModule = typeof import('y-websocket', { with: { 'resolution-mode': 'import' }});
const { WebsocketProvider }: YWebsocketModule = require('y-websocket');
type Provider = InstanceType<YWebsocketModule['WebsocketProvider']>;

/**
 * The shared list every editor edits: a Y.Array of tokens, inserted at random indices,
 * so that each edit stays one item (an insert into a Y.Text could split another's token).
 */
export const LIST = 'tokens';

/** The document's content, to compare replicas. */
export function contentOf(doc: YDoc): string[] {
  return doc.getArray<string>(LIST).toArray();
}

/** An unmodified y-websocket 3.x provider on a document of its own, bound to one node's port. */
export function openProvider(serverUrl: string, room: string, doc: YDoc = new Y.Doc()): Provider {
  const provider = new WebsocketProvider(serverUrl, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    // A restarted node comes back within seconds; the default backoff (2.5 s at most) is fine.
  });
  process.setMaxListeners(Math.max(process.getMaxListeners(), 50));
  return provider;
}

export function destroyProvider(provider: Provider): void {
  provider.awareness.destroy();
  provider.destroy();
  provider.doc.destroy();
}

/**
 * A y-websocket editor that inserts a token of its own (`[name:n]`) at a random place
 * every few hundred milliseconds, offline or not: Yjs keeps edits made while the node is
 * away and sends them on reconnect. Every token it made must be in the final document.
 */
export class Editor {
  readonly tokens: string[] = [];
  readonly provider: Provider;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    serverUrl: string,
    room: string,
    private readonly random: Random,
    private readonly pauseMs: number,
  ) {
    this.provider = openProvider(serverUrl, room);
  }

  get content(): string[] {
    return contentOf(this.provider.doc);
  }

  start(): void {
    const edit = () => {
      const list = this.provider.doc.getArray<string>(LIST);
      const token = `${this.name}:${this.tokens.length + 1}`;
      list.insert(this.random.int(0, list.length), [token]);
      this.tokens.push(token);
      this.timer = setTimeout(edit, this.random.int(this.pauseMs / 2, this.pauseMs * 2));
    };
    this.timer = setTimeout(edit, this.random.int(0, this.pauseMs));
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  close(): void {
    this.stop();
    destroyProvider(this.provider);
  }
}
