import type { IncomingMessage } from 'node:http';
import type { Connection, Identity } from './connection';
import type { Access } from './events/event-definition';

/** The outcome of checking an upgrade request: who it is, or the HTTP status that refuses it. */
export type UpgradeDecision =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly status: number; readonly message: string };

/**
 * Decides who an upgrade request is (`room` is set for endpoints bound to one room, such
 * as /yjs/<room>), or resolves undefined to leave the decision to the next one.
 */
export type Authenticator = (
  req: IncomingMessage,
  url: URL,
  room: string | undefined,
) => Promise<UpgradeDecision | undefined>;

/** Whether a connection may send an event needing `access` to `room`. */
export type Authorizer = (conn: Connection, access: Access, room: string | undefined) => boolean;

let anonymousCount = 0;

/**
 * The node's authentication and authorization, as hooks modules register; none replaces
 * another. Authenticators run in the order they were registered and the first that
 * decides (accepts or refuses) wins; when none decides, anyone may connect, each
 * connection its own anonymous user. Authorizers must all allow, in registration order;
 * with none registered everything is allowed.
 */
export class AccessHooks {
  private readonly authenticators: Authenticator[] = [];
  private readonly authorizers: Authorizer[] = [];

  addAuthenticator(authenticator: Authenticator): void {
    this.authenticators.push(authenticator);
  }

  addAuthorizer(authorizer: Authorizer): void {
    this.authorizers.push(authorizer);
  }

  async authenticate(req: IncomingMessage, url: URL, room: string | undefined): Promise<UpgradeDecision> {
    for (const authenticator of this.authenticators) {
      const decision = await authenticator(req, url, room);
      if (decision) return decision;
    }
    return { ok: true, identity: { user: `anon-${process.pid}-${++anonymousCount}`, anonymous: true } };
  }

  authorize(conn: Connection, access: Access, room: string | undefined): boolean {
    return this.authorizers.every((authorize) => authorize(conn, access, room));
  }
}
