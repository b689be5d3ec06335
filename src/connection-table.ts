import type { Connection } from './connection';

/** The connections open on this node, by id and by user. */
export class ConnectionTable {
  private readonly byId = new Map<string, Connection>();
  private readonly byUser = new Map<string, Set<Connection>>();

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
}
