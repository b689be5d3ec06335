import type { Connection } from './connection';

/** The connections open on this node, by id and by user, and the work their closing left running. */
export class ConnectionTable {
  private readonly byId = new Map<string, Connection>();
  private readonly byUser = new Map<string, Set<Connection>>();
  private readonly closing = new Set<Promise<void>>();

  get size(): number {
    return this.byId.size;
  }

  add(conn: Connection): void {
    this.byId.set(conn.id, conn);
    let set = this.byUser.get(conn.identity.user);
    if (!set) {
      set = new Set();
      this.byUser.set(conn.identity.user, set);
    }
    set.add(conn);
  }

  delete(conn: Connection): void {
    this.byId.delete(conn.id);
    const set = this.byUser.get(conn.identity.user);
    set?.delete(conn);
    if (set?.size === 0) this.byUser.delete(conn.identity.user);
  }

  get(id: string): Connection | undefined {
    return this.byId.get(id);
  }

  ofUser(user: string): Connection[] {
    return [...(this.byUser.get(user) ?? [])];
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
