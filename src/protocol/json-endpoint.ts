import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { CloseCode } from '../errors';
import { CLIENT_INSTANCE } from '../events/idempotency';
import type { Extension, Host } from '../host';
import { refuseUpgrade } from '../http/respond';
import { selectProtocol } from '../http/token-source';
import { connectionRateLimiter } from '../limits/rate-limit';
import { JsonConnection } from './json-connection';
import { reasonedSocket } from './reasoned-socket';

/** The path of the JSON event protocol. */
export const EVENTS_PATH = '/events';

/**
 * The JSON event protocol on `WS /events`: a built-in module, installed on every node
 * before the others, through the same host interface as the Yjs one.
 */
export class JsonEndpoint implements Extension {
  readonly name = 'json';
  private sockets: WebSocketServer | undefined;

  install(host: Host): void {
    this.sockets = new WebSocketServer({
      noServer: true,
      maxPayload: host.config.maxFrameBytes,
      WebSocket: reasonedSocket({
        bytes: host.config.maxFrameBytes,
        variable: 'MAX_FRAME_BYTES',
        code: CloseCode.MessageTooBig,
      }),
      handleProtocols: selectProtocol,
    });
    host.addUpgrade(EVENTS_PATH, (req, socket, head, url) => void this.upgrade(host, req, socket, head, url));
  }

  /** The open sockets of this endpoint. */
  get clients(): ReadonlySet<WebSocket> {
    return this.sockets?.clients ?? new Set();
  }

  close(): void {
    for (const socket of this.clients) socket.terminate();
  }

  private async upgrade(
    host: Host,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
  ): Promise<void> {
    const client = url.searchParams.get('client') ?? undefined;
    if (client !== undefined && !CLIENT_INSTANCE.test(client)) {
      return refuseUpgrade(socket, 400, '"client" must be 16-64 of A-Z a-z 0-9 _ -');
    }
    const decision = await host.authenticate(req, url, undefined);
    if (!decision.ok) return refuseUpgrade(socket, decision.status, decision.message);
    this.sockets?.handleUpgrade(req, socket, head, (ws) => {
      const conn = new JsonConnection(
        ws,
        decision.identity,
        host,
        host.log,
        {
          rate: connectionRateLimiter(host.config.limits),
          maxSendBufferBytes: host.config.limits.maxSendBufferBytes,
        },
        socket,
        client,
      );
      host.register(conn, ws);
      ws.on('close', () => host.track(host.disconnect(conn, conn.settled())));
      ws.on('error', (err) => host.log.debug({ err, conn: conn.id }, 'socket error'));
      conn.open(host.id);
    });
  }
}
