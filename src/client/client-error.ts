import type { ErrorCode } from '../core/errors';

/** Codes the client itself gives a rejected promise; the server's codes are in `ErrorCode`. */
export const ClientErrorCode = {
  /**
   * The connection was lost after the frame was sent and before its answer came: the
   * server may have stored and published it. Check (by the room's events) before resending.
   */
  OutcomeUnknown: 'outcome_unknown',
  /** No answer within the emit's `timeoutMs`; as with `outcome_unknown`, it may have been stored. */
  Timeout: 'timeout',
  /** Offline and the app chose `offline: 'reject'`, or the offline queue was full. Never sent. */
  Offline: 'offline',
  /** The client was closed (by the app, or for good by the server), or the room was left. Never sent. */
  Closed: 'closed',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** A rejected request: `code` is the server's error code or one of the client's own. */
export class SwarmClientError extends Error {
  constructor(
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SwarmClientError';
  }

  /** True when the frame may have reached the server and been stored. */
  get mayHaveBeenStored(): boolean {
    return this.code === ClientErrorCode.OutcomeUnknown || this.code === ClientErrorCode.Timeout;
  }
}
