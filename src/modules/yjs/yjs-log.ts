import type { HistoryRead, HistoryStore } from '../../backend/backend';
import { DOCUMENT_STREAM, type DocumentStore } from '../../backend/document-store';
import { UnavailableError } from '../../core/errors';
import type { Position } from '../../core/events/event';
import type { CachedDocument, DocumentCache } from './document-cache';
import { type DocumentParts, mergeParts } from './document-parts';
import { Y } from './esm';

/** How many log entries one history read asks for. */
const READ_BATCH = 1000;
/**
 * How often a read starts again because a compaction moved the snapshot under it. Each
 * retry means another node compacted in the meantime; more than a few in a row means the
 * log is damaged, not busy.
 */
const MAX_ATTEMPTS = 5;

/** A room's whole document as of `offset`, and the size of the log tail after its snapshot. */
export interface DocumentState {
  /** The snapshot and the merged tail, as sync answers send them. */
  readonly parts: DocumentParts;
  /** The two merged (on first use: a sync answer never needs it). */
  readonly update: Uint8Array;
  /** The last `yjs` stream offset included, and the stream's epoch. */
  readonly offset: number;
  readonly epoch: string;
  /** The snapshot's offset: entries after it are the log tail. */
  readonly snapshotOffset: number;
  readonly tailEntries: number;
  readonly tailBytes: number;
}

interface ReadSlot {
  running?: Promise<CachedDocument | DocumentState>;
  queued?: Promise<CachedDocument | DocumentState>;
}

/**
 * Reads a room's document without keeping a Y.Doc: the snapshot merged with the log
 * entries after it. A store that can reads the two in one round trip; otherwise they are read
 * one after the other, and when a compaction trimmed the log in between (the history read
 * says it no longer reaches back), the read starts over with the new snapshot, so a
 * reader never sees a hole.
 */
export class YjsLog {
  /** Per room, the document read in progress and the one queued behind it (see `current`). */
  private readonly reads = new Map<string, ReadSlot>();

  constructor(
    private readonly store: DocumentStore,
    private readonly history: HistoryStore,
    private readonly cache?: DocumentCache,
    /** How many entries a cached document may absorb before it is read afresh (the compaction threshold). */
    private readonly maxAbsorbed = Number.POSITIVE_INFINITY,
  ) {}

  /**
   * The room's document now, for a sync answer: the cached document merged with the log
   * entries after it when the log still has them (a join then merges a few updates, not
   * the whole tail), otherwise a full read. Says nothing exact about the tail.
   */
  current(room: string, covering?: Position): Promise<CachedDocument | DocumentState> {
    let slot = this.reads.get(room);
    if (!slot) {
      slot = {};
      this.reads.set(room, slot);
    }
    if (!slot.running) return this.startRead(room, slot);
    if (covering) {
      // A caller that says where its live deliveries start (the position it entered the
      // room at) can take the running read if that read reaches the position: what is
      // appended after it reaches the caller live. A burst of joiners of a quiet room
      // then shares one read, however long the burst.
      const running = slot.running;
      const later = () => this.startedSince(room, running);
      return running.then((document) => (reaches(document, covering) ? document : later()), later);
    }
    // The running read may have read the log before this caller entered the room: what
    // was appended in between would reach it neither in that answer nor live. Callers that
    // arrive during a read share the next one instead, which starts after they entered.
    const waiting = slot;
    waiting.queued ??= waiting.running!.then(
      () => this.startQueued(room, waiting),
      () => this.startQueued(room, waiting),
    );
    return waiting.queued;
  }

  /** A read that started after `before` ended (the one running now, or a new one). */
  private startedSince(
    room: string,
    before: Promise<CachedDocument | DocumentState>,
  ): Promise<CachedDocument | DocumentState> {
    const slot = this.reads.get(room);
    if (slot?.running && slot.running !== before) return slot.running;
    return this.current(room);
  }

  private startQueued(room: string, slot: ReadSlot): Promise<CachedDocument | DocumentState> {
    slot.queued = undefined;
    return this.startRead(room, slot);
  }

  private startRead(room: string, slot: ReadSlot): Promise<CachedDocument | DocumentState> {
    const running: Promise<CachedDocument | DocumentState> = this.currentNow(room).finally(() => {
      if (slot.running === running) slot.running = undefined;
      if (!slot.running && !slot.queued) this.reads.delete(room);
    });
    slot.running = running;
    return running;
  }

  private async currentNow(room: string): Promise<CachedDocument | DocumentState> {
    const cached = this.cache?.get(room);
    if (cached) {
      const newer = await this.readTail(room, cached.offset, cached.epoch);
      if (newer && cached.absorbed + newer.updates.length <= this.maxAbsorbed) {
        if (newer.updates.length === 0) return cached;
        const document = {
          update: Y.mergeUpdates([cached.update, ...newer.updates]),
          offset: newer.offset,
          epoch: newer.epoch,
          absorbed: cached.absorbed + newer.updates.length,
        };
        this.cache?.set(room, document);
        return document;
      }
    }
    return this.read(room);
  }

  /** The entries after `after`, or undefined when the log no longer has all of them. */
  private async readTail(
    room: string,
    after: number,
    epoch: string,
  ): Promise<{ updates: Uint8Array[]; offset: number; epoch: string } | undefined> {
    const updates: Uint8Array[] = [];
    let offset = after;
    // A document cached before the stream existed has the empty epoch and offset 0.
    for (;;) {
      const read = await this.history.read(room, DOCUMENT_STREAM, offset, epoch || undefined, READ_BATCH);
      if (!read.complete || (epoch !== '' && read.head.epoch !== epoch)) return undefined;
      for (const event of read.events) {
        if (!(event.data instanceof Uint8Array) || (event.offset ?? 0) <= offset) continue;
        updates.push(event.data);
        offset = event.offset!;
      }
      if (read.events.length < READ_BATCH) return { updates, offset, epoch: read.head.epoch };
    }
  }

  /** The room's document from its snapshot and the whole log tail, with the tail's exact size. */
  async read(room: string): Promise<DocumentState> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const state = await this.tryRead(room);
      if (state) {
        // Only a room the cache keeps pays for the merge of the two parts here.
        if (this.cache?.serves(room))
          this.cache.set(room, {
            update: state.update,
            offset: state.offset,
            epoch: state.epoch,
            absorbed: 0,
          });
        return state;
      }
    }
    throw new UnavailableError(`the Yjs log of room "${room}" kept moving; retry`);
  }

  private async tryRead(room: string): Promise<DocumentState | undefined> {
    // The snapshot and the first page of the log after it in one round trip where the
    // store can (every join reads this); otherwise one after the other.
    const together = await this.store.snapshotWithTail?.(room, READ_BATCH);
    const snapshot = together?.snapshot ?? (await this.store.snapshot(room));
    let first: HistoryRead | undefined = together?.tail;
    const updates: Uint8Array[] = [];
    let offset = snapshot.offset;
    let epoch = snapshot.epoch;
    let tailBytes = 0;
    for (;;) {
      const read =
        first ?? (await this.history.read(room, DOCUMENT_STREAM, offset, epoch || undefined, READ_BATCH));
      first = undefined;
      if (!read.complete) {
        const restarted = epoch !== '' && read.head.epoch !== epoch && offset === snapshot.offset;
        if (!restarted) return undefined;
        // The stream restarted under a new epoch: all of it is newer than the snapshot.
        offset = 0;
        epoch = read.head.epoch;
        continue;
      }
      epoch = read.head.epoch;
      for (const event of read.events) {
        if (!(event.data instanceof Uint8Array) || (event.offset ?? 0) <= offset) continue;
        updates.push(event.data);
        tailBytes += event.data.length;
        offset = event.offset!;
      }
      if (read.events.length < READ_BATCH) break;
    }
    const tail = updates.length <= 1 ? updates[0] : Y.mergeUpdates(updates);
    const parts: DocumentParts = { snapshot: snapshot.update, tail };
    let merged: Uint8Array | undefined;
    return {
      parts,
      get update() {
        merged ??= mergeParts(parts);
        return merged;
      },
      offset,
      epoch,
      snapshotOffset: snapshot.offset,
      tailEntries: updates.length,
      tailBytes,
    };
  }
}

/** Whether a document read includes everything up to `position` of the same stream epoch. */
function reaches(document: { offset: number; epoch: string }, position: Position): boolean {
  return document.epoch === position.epoch && document.offset >= position.offset;
}
