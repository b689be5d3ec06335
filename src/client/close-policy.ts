import { CloseCode } from '../core/errors';

/**
 * What the client does after a close, by code: the one table, kept in step with the
 * "swarmcast JSON client" column of docs/codes.md by a test.
 * - `retry`: reconnect with backoff and jitter (a transient condition, possibly on another node).
 * - `next-now`: reconnect at once to the next url (the node is draining; another takes over).
 * - `new-token`: reconnect only if the app's `getToken` returns a new token, else stop.
 * - `stop`: retrying cannot help; the client closes and says why.
 */
export type CloseAction = 'retry' | 'next-now' | 'new-token' | 'stop';

/** 4400-4499 mean "fix the cause first" (y-websocket 3.x and this client stop on them). */
const TERMINAL_FIRST = 4400;
const TERMINAL_LAST = 4499;

const EXCEPTIONS: ReadonlyMap<number, CloseAction> = new Map<number, CloseAction>([
  [CloseCode.ServiceRestart, 'next-now'],
  [CloseCode.TokenExpired, 'new-token'],
]);

export function closeAction(code: number): CloseAction {
  const exception = EXCEPTIONS.get(code);
  if (exception) return exception;
  if (code >= TERMINAL_FIRST && code <= TERMINAL_LAST) return 'stop';
  return 'retry';
}
