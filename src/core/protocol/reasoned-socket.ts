import { WebSocket } from 'ws';
import { CloseCode } from '../errors';

export interface FrameLimit {
  /** The largest frame accepted, in bytes (the server's `maxPayload`). */
  readonly bytes: number;
  /** The variable that sets it, named in the close reason. */
  readonly variable: string;
  /** The code a frame over it closes with: 1009, or 4413 where reconnecting cannot help. */
  readonly code: CloseCode;
}

/**
 * The `WebSocket` class for a `WebSocketServer` (its `WebSocket` option) whose own closes
 * say why. `ws` closes a socket by itself on a frame over `maxPayload` (1009), invalid
 * UTF-8 (1007) and a broken frame (1002), with an empty reason; a client then cannot
 * tell what to fix. This fills in the reason, and the code for a frame over the limit.
 */
export function reasonedSocket(limit: FrameLimit): typeof WebSocket {
  return class ReasonedSocket extends WebSocket {
    override close(code?: number, data?: string | Buffer): void {
      super.close(...withReason(limit, code, data));
    }
  };
}

function withReason(
  limit: FrameLimit,
  code: number | undefined,
  data: string | Buffer | undefined,
): [number | undefined, string | Buffer | undefined] {
  if (data !== undefined) return [code, data];
  switch (code) {
    case CloseCode.MessageTooBig:
      return [limit.code, `frame over ${limit.bytes} bytes (${limit.variable})`];
    case CloseCode.InvalidPayload:
      return [code, 'text frame is not valid UTF-8'];
    case CloseCode.ProtocolError:
      return [code, 'malformed WebSocket frame'];
    default:
      return [code, data];
  }
}
