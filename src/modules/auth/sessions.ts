import type { Connection, Identity } from '../../core/connection';

/** What a connection's token currently grants: from the upgrade, or from its last `auth.refresh`. */
export type Credentials = Pick<Identity, 'grants' | 'expiresAt' | 'issuedAt'>;

/**
 * The mutable half of a connection's identity. The user is fixed at the upgrade
 * (`conn.identity.user`); grants and expiry change when the client refreshes its token,
 * and only this module holds the new ones, so nothing else can change them.
 */
export class Sessions {
  private readonly refreshed = new WeakMap<Connection, Credentials>();

  current(conn: Connection): Credentials {
    return this.refreshed.get(conn) ?? conn.identity;
  }

  refresh(conn: Connection, credentials: Credentials): void {
    this.refreshed.set(conn, credentials);
  }
}
