import type { Connection } from './connection';

/** The connections open on this node, by id and by user, and the work their closing left running. */
export class ConnectionTable {
  private readonly byId = new Map<string, Connection>();
  /**
   * A user's one connection, or a Set once there are more: most users have one (every
   * anonymous connection is a user of its own), and a Set of one would cost its table,
   * 200 bytes of an idle socket's 4.5 KB of heap (bench S4).
   */
  private readonly byUser = new Map<string, Connection | Set<Connection>>();
  private readonly closing = new Set<Promise<void>>();

  get size(): number {
    return this.byId.size;
  }

  add(conn: Connection): void {
    this.byId.set(conn.id, conn);
    const user = conn.identity.user;
    const known = this.byUser.get(user);
    if (known === undefined || known === conn) this.byUser.set(user, conn);
    else if (known instanceof Set) known.add(conn);
    else this.byUser.set(user, new Set([known, conn]));
  }

  delete(conn: Connection): void {
    this.byId.delete(conn.id);
    const user = conn.identity.user;
    const known = this.byUser.get(user);
    if (known === conn) this.byUser.delete(user);
    else if (known instanceof Set) {
      known.delete(conn);
      if (known.size === 0) this.byUser.delete(user);
    }
  }

  get(id: string): Connection | undefined {
    return this.byId.get(id);
  }

  ofUser(user: string): Connection[] {
    const known = this.byUser.get(user);
    if (known === undefined) return [];
    return known instanceof Set ? [...known] : [known];
  }

  all(): IterableIterator<Connection> {
    return this.byId.values();
  }

  /** Keeps a promise of close work (leaving rooms) so that `emptied` waits for it. */
  track(work: Promise<void>): void {
    this.closing.add(work);
    void work.finally(() => this.closing.delete(work));
  }

  /** Resolves once no connection is open and no close work is running. */
  async emptied(): Promise<void> {
    // Sockets close when their clients answer the close frame; then their leave work runs.
    while (this.byId.size > 0 || this.closing.size > 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      await Promise.all(this.closing);
    }
  }
}
