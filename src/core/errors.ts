/**
 * Every machine-readable code swarmcast sends, in one place. docs/codes.md is the
 * table for users; a test keeps the two in step.
 */

/** `code` of an `error` frame on the JSON protocol. Stable: clients switch on them. */
export const ErrorCode = {
  /** The frame is not valid JSON. */
  BadJson: 'bad_json',
  /** The frame is JSON but not an event object (`type` missing, wrong field types). */
  BadFrame: 'bad_frame',
  /** No event type of that name is declared, or clients may not send it. */
  UnknownType: 'unknown_type',
  /** `data` does not match the event type's schema. */
  InvalidData: 'invalid_data',
  /** A room event for a room this connection has not joined. */
  NotJoined: 'not_joined',
  /** The connection's access does not allow this event in this room. */
  Forbidden: 'forbidden',
  /** The handler rejected the event on purpose (ctx.fail). */
  Rejected: 'rejected',
  /** `auth.refresh` with a token that does not verify, or that names another user. */
  InvalidToken: 'invalid_token',
  /** Too many messages: the per-connection rate limit was hit. */
  RateLimited: 'rate_limited',
  /** The cluster backend (Redis) cannot be reached right now; retry later. */
  Unavailable: 'unavailable',
  /** The handler threw. The node logged it with the event's id. */
  Internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * WebSocket close codes. 1000-1015 are RFC 6455's; ours are 4000 + the HTTP status
 * that means the same thing, so a reader can guess them. The ranges are the ones
 * y-websocket 3.x acts on (its `defaultShouldReconnect`): 4400-4499 is terminal, the
 * client stops; 4500-4599 is "try again later". So a condition that a reconnect cures
 * (a rate, a dead-looking socket, a slow reader, Redis away) is 45xx even where the HTTP
 * status would be 4xx, and only one that reconnecting cannot cure is 44xx.
 */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  /** A malformed WebSocket frame (`ws` closes with it by itself). */
  ProtocolError: 1002,
  /** A text frame on /yjs (a binary frame on /events is a `bad_frame` error instead). */
  UnsupportedData: 1003,
  /** A text frame that is not UTF-8 (`ws` closes with it by itself). */
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  /** A frame over the size limit. */
  MessageTooBig: 1009,
  InternalError: 1011,
  /** The node is draining (SIGTERM, rolling update): reconnect elsewhere. */
  ServiceRestart: 1012,
  /** A y-websocket frame that does not decode, or an update Yjs rejects. */
  BadYjsFrame: 4400,
  /** The token expired and was not refreshed. */
  TokenExpired: 4401,
  /** The user's access was revoked (kicked) by an operator or a backend. */
  Revoked: 4403,
  /** A frame on /yjs over `YJS_MAX_FRAME_BYTES`: the provider would send it again on every reconnect. */
  YjsFrameTooBig: 4413,
  /** The cluster backend (Redis) cannot be reached: the room could not be read or an update not stored. */
  Unavailable: 4503,
  /** No pong came back in time: the socket is considered dead (HTTP 504's "timeout"). */
  HeartbeatTimeout: 4504,
  /** The client does not read fast enough; its send buffer passed the limit. */
  SlowConsumer: 4508,
  /** A JSON client kept sending past its rate limit (Yjs sockets are slowed down instead). */
  RateLimited: 4529,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** An error that carries a stable code to the client. Anything else becomes `internal`. */
export class SwarmError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'SwarmError';
  }
}

/** The backend (Redis) cannot take the request now; maps to `unavailable`. */
export class UnavailableError extends SwarmError {
  constructor(message = 'the cluster backend is unavailable, retry later') {
    super(ErrorCode.Unavailable, message);
    this.name = 'UnavailableError';
  }
}

/**
 * A bad setting: the message names its environment variable, also when it came from an
 * options object in code (`option` then says which key), so both get the same message.
 */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
    readonly option?: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Normalises anything thrown into a code and a message that are safe to send. */
export function toWireError(err: unknown): { code: ErrorCode; message: string } {
  if (err instanceof SwarmError) return { code: err.code, message: err.message };
  return { code: ErrorCode.Internal, message: 'the handler failed; the error was logged' };
}
