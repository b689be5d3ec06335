import type { WebSocket } from 'ws';

/**
 * Whether a socket's unsent bytes passed `limit`. A client that stops reading would
 * otherwise make the server hold every event for it in memory: past the limit it is
 * closed with 4508 (SlowConsumer) and can reconnect and resume with `since`.
 */
export function overSendBuffer(socket: WebSocket, limit: number): boolean {
  return socket.bufferedAmount > limit;
}
