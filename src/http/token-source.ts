import type { IncomingMessage } from 'node:http';

/**
 * Browsers cannot set headers on a WebSocket, but they can list subprotocols. A client
 * sends its token as the entry `swarmcast.token.<jwt>` next to a real subprotocol
 * (`new WebSocket(url, ['swarmcast', 'swarmcast.token.' + jwt])`); JWT characters are
 * all legal in a subprotocol name.
 */
export const TOKEN_PROTOCOL_PREFIX = 'swarmcast.token.';

/** The token of an upgrade request: `Authorization: Bearer`, then `?token=`, then the subprotocol entry. */
export function tokenFrom(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim() || undefined;
  const query = url.searchParams.get('token');
  if (query) return query;
  const protocols = req.headers['sec-websocket-protocol'];
  if (!protocols) return undefined;
  for (const entry of protocols.split(',')) {
    const protocol = entry.trim();
    if (protocol.startsWith(TOKEN_PROTOCOL_PREFIX)) return protocol.slice(TOKEN_PROTOCOL_PREFIX.length);
  }
  return undefined;
}

/**
 * The subprotocol the server answers (`ws`'s `handleProtocols`): the first one the client
 * offered that is not a token. A browser fails a handshake whose answer names no
 * protocol when it offered some, so when the token is the only entry it is echoed.
 */
export function selectProtocol(protocols: Set<string>): string | false {
  let token: string | undefined;
  for (const protocol of protocols) {
    if (!protocol.startsWith(TOKEN_PROTOCOL_PREFIX)) return protocol;
    token ??= protocol;
  }
  return token ?? false;
}
