/**
 * How long a revocation is remembered. A token issued before a revocation stays refused
 * for this long; keep token lifetimes (`exp - iat`) shorter than this.
 */
export const REVOCATION_TTL_MS = 24 * 60 * 60 * 1000;

interface Entry {
  /** Tokens issued at or before this second (their `iat`) are refused. */
  readonly at: number;
  readonly expires: number;
}

/**
 * The revocations this node has heard of (through the cluster-scope `user.revoke`).
 * A revocation refuses the user's tokens issued at or before it, for every room or for
 * one: a kicked client that reconnects with the same token is refused, and one with a
 * freshly issued token gets in. Tokens without `iat` count as issued at 0.
 */
export class Revocations {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  record(user: string, room: string | undefined, at: number): void {
    this.prune();
    const key = keyOf(user, room);
    const previous = this.entries.get(key);
    if (previous && previous.at >= at) return;
    // Counted from the revocation itself, so every node forgets it at the same time.
    this.entries.set(key, { at, expires: at * 1000 + REVOCATION_TTL_MS });
  }

  /** Whether a token of `user` issued at `issuedAt` is revoked for every room, or (given `room`) for that room. */
  revoked(user: string, issuedAt: number | undefined, room?: string): boolean {
    if (this.entries.size === 0) return false;
    const iat = issuedAt ?? 0;
    const now = this.now();
    const hit = (entry: Entry | undefined) => entry !== undefined && entry.expires > now && iat <= entry.at;
    return (
      hit(this.entries.get(keyOf(user, undefined))) ||
      (room !== undefined && hit(this.entries.get(keyOf(user, room))))
    );
  }

  get size(): number {
    return this.entries.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expires <= now) this.entries.delete(key);
  }
}

function keyOf(user: string, room: string | undefined): string {
  // NUL cannot appear in a token's sub without being escaped in JSON and is never a room name here.
  return room === undefined ? `${user}\u0000` : `${user}\u0000${room}`;
}
