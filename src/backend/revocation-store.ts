/** One revocation: the user's tokens issued at or before `at` (Unix seconds), for all rooms or one. */
export interface RevocationRecord {
  readonly user: string;
  readonly room?: string;
  readonly at: number;
}

/**
 * Where revocations outlive the cluster event that announced them, so a node that
 * starts later (or restarts) refuses the same tokens. Nodes keep their own copy in
 * memory for the checks; this is read once at start.
 */
export interface RevocationStore {
  add(record: RevocationRecord): Promise<void>;
  /** The revocations whose `at` is within `maxAgeMs` of now; older ones are dropped. */
  recent(maxAgeMs: number): Promise<RevocationRecord[]>;
}
