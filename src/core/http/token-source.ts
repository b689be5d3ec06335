import type { IncomingMessage } from 'node:http';

import { TOKEN_PROTOCOL_PREFIX } from '../protocol/wire';

export { TOKEN_PROTOCOL_PREFIX };

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
