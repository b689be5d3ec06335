/**
 * The part of the WebSocket API the client uses: the browser's, Node's global one (22+)
 * and `ws`'s all have it. Handlers take `never` so that each implementation's own event
 * types fit; the client reads only `data`, `code` and `reason`.
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface MessageEventLike {
  readonly data: unknown;
}

export interface CloseEventLike {
  readonly code: number;
  readonly reason: string;
}

/** `WebSocket.OPEN` in every implementation. */
export const OPEN = 1;

/** The one given, else the global `WebSocket` (browsers, Node 22+); Node 20 needs `ws` passed in. */
export function webSocketConstructor(given: WebSocketConstructor | undefined): WebSocketConstructor {
  if (given) return given;
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!global) {
    throw new TypeError(
      'connect: no global WebSocket here (Node 20); pass one: connect({ url, WebSocket: require("ws") })',
    );
  }
  return global;
}
