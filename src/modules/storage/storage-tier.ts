import type { Registry } from 'prom-client';
import type { Backend } from '../../backend/backend';
import type { CopyCoordination } from '../../backend/copy-coordination';
import { DOCUMENT_STREAM } from '../../backend/document-store';
import type { RoomRestore } from '../../backend/room-restore';
import type { DocumentStore } from '../../backend/storage/document-store';
import type { PersistConfig } from '../../core/config';
import type { StreamName } from '../../core/events/event';
import type { EventRegistry } from '../../core/events/registry';
import type { Logger } from '../../core/log';
import { YjsLog } from '../yjs/yjs-log';
import { Evictor } from './evictor';
import { type DocumentReader, Persister } from './persister';
import { RoomLoader } from './room-loader';

export interface StorageTierOptions extends PersistConfig {
  readonly backend: Backend;
  /** An open store. */
  readonly store: DocumentStore;
  readonly log: Logger;
  readonly registry: Registry;
  readonly historyLimit: number;
  /** The event streams the node's events declare (`eventStreamsOf`): what the tier copies, loads back and evicts. */
  readonly streams: () => readonly StreamName[];
}

/**
 * A node's event streams: those its room events declare (`events` among them), without
 * the Yjs document's stream, which is kept as a document rather than as entries.
 */
export function eventStreamsOf(registry: Pick<EventRegistry, 'streams'>): StreamName[] {
  return registry.streams().filter((stream) => stream !== DOCUMENT_STREAM);
}

/**
 * The storage tier's three parts over one backend and one open store (docs/storage.md):
 * the loader puts a room back before anyone enters it, the persister copies what is
 * appended, the evictor removes cold rooms. The node's extension wires it to the node's
 * hooks; the backend contract suite wires it to a bare backend, so both run the same code.
 */
export class StorageTier {
  readonly loader: RoomLoader;
  readonly persister: Persister;
  readonly evictor: Evictor;
  readonly coordination: CopyCoordination;
  readonly restore: RoomRestore;
  readonly document: DocumentReader;

  constructor(options: StorageTierOptions) {
    const { backend, store, registry, historyLimit, streams } = options;
    const log = options.log.child({ module: 'storage' });
    const { copies: coordination, restore } = backend;
    const yjs = new YjsLog(backend.documents, backend.history);
    this.coordination = coordination;
    this.restore = restore;
    this.document = (room) => yjs.read(room);
    this.loader = new RoomLoader({ store, restore, coordination, log, registry, historyLimit, streams });
    this.persister = new Persister({
      store,
      coordination,
      history: backend.history,
      state: backend.state,
      document: this.document,
      log,
      registry,
      persistDelayMs: options.persistDelayMs,
      persistMaxWaitMs: options.persistMaxWaitMs,
      durableTimeoutMs: options.durableTimeoutMs,
      historyLimit,
      streams,
    });
    this.evictor = new Evictor({
      coordination,
      restore,
      log,
      registry,
      roomIdleMs: options.roomIdleMs,
      streams,
      databaseUp: () => this.persister.databaseUp,
    });
  }

  start(): void {
    this.persister.start();
    this.evictor.start();
  }

  /** Stops evicting and copies what is pending, for at most `flushMs`; the store stays open. */
  async close(flushMs: number): Promise<void> {
    this.evictor.stop();
    await this.persister.close(flushMs);
  }
}
