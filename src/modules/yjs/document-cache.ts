/** A room's merged document as of a `yjs` stream position. */
export interface CachedDocument {
  readonly update: Uint8Array;
  readonly offset: number;
  readonly epoch: string;
  /**
   * Log entries merged into it since it was read from the snapshot. Merging keeps deleted
   * content that a compaction would drop, so past a limit the document is read afresh.
   */
  readonly absorbed: number;
}

/**
 * The merged documents of the rooms this node serves, least recently used first out,
 * bounded in bytes. Only rooms with local Yjs clients are admitted (`retain`/`release`),
 * so a node keeps nothing for rooms it does not serve. A cached document is never
 * trusted on its own: readers merge it with the log entries after its offset, and fall
 * back to snapshot + log when those are gone.
 */
export class DocumentCache {
  private readonly entries = new Map<string, CachedDocument>();
  private readonly served = new Set<string>();
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  get size(): number {
    return this.entries.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  retain(room: string): void {
    this.served.add(room);
  }

  /** Whether `set` would keep a document of `room` (a read merges its parts only then). */
  serves(room: string): boolean {
    return this.served.has(room);
  }

  release(room: string): void {
    this.served.delete(room);
    this.drop(room);
  }

  get(room: string): CachedDocument | undefined {
    const entry = this.entries.get(room);
    if (!entry) return undefined;
    // Most recently used last.
    this.entries.delete(room);
    this.entries.set(room, entry);
    return entry;
  }

  set(room: string, document: CachedDocument): void {
    if (!this.served.has(room) || document.update.length > this.maxBytes) return;
    const current = this.entries.get(room);
    if (current && current.epoch === document.epoch && current.offset >= document.offset) return;
    this.drop(room);
    this.entries.set(room, document);
    this.bytes += document.update.length;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.update.length;
    }
  }

  private drop(room: string): void {
    const entry = this.entries.get(room);
    if (!entry) return;
    this.entries.delete(room);
    this.bytes -= entry.update.length;
  }
}
