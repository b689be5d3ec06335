import { Registry } from 'prom-client';
import type {
  AppendOnce,
  AppendOutcome,
  Backend,
  BackendMetrics,
  BackendStatus,
  Bus,
  BusListener,
} from '../../src/backend/backend';
import type { DocumentStore } from '../../src/backend/storage/document-store';
import {
  DEFAULT_STREAM,
  type Event,
  type RoomEvent,
  type StoredEvent,
  type StreamName,
} from '../../src/core/events/event';
import type { Logger } from '../../src/core/log';
import { StorageTier } from '../../src/modules/storage/storage-tier';

/** How long a closing backend may take to copy what it has pending (the node's own bound). */
const CLOSE_FLUSH_MS = 5000;

/**
 * The bus of a backend with the storage tier on, as a node drives it: a room is loaded
 * back before this node reads or appends it (the node does it before a member enters),
 * and whatever is appended is handed to the write-behind.
 */
class StoredBus implements Bus {
  constructor(
    private readonly inner: Bus,
    private readonly tier: StorageTier,
  ) {}

  publishRoom(event: RoomEvent, stream: StreamName): Promise<StoredEvent>;
  publishRoom(event: RoomEvent, stream: null): Promise<RoomEvent>;
  publishRoom(event: RoomEvent, stream: StreamName | null): Promise<RoomEvent | StoredEvent>;
  async publishRoom(event: RoomEvent, stream: StreamName | null): Promise<RoomEvent | StoredEvent> {
    if (stream === null) return this.inner.publishRoom(event, null);
    await this.tier.loader.ensure(event.room);
    const stored = await this.inner.publishRoom(event, stream);
    this.tier.persister.appended(stored);
    return stored;
  }

  async appendOnce(event: RoomEvent, stream: StreamName, once: AppendOnce): Promise<AppendOutcome> {
    await this.tier.loader.ensure(event.room);
    const outcome = await this.inner.appendOnce(event, stream, once);
    if (!outcome.repeat) this.tier.persister.appended(outcome.event);
    return outcome;
  }

  publishCluster(event: Event): Promise<void> {
    return this.inner.publishCluster(event);
  }

  async subscribe(room: string): Promise<void> {
    await this.inner.subscribe(room);
    await this.tier.loader.ensure(room);
  }

  unsubscribe(room: string): Promise<void> {
    return this.inner.unsubscribe(room);
  }

  listen(listener: BusListener): void {
    this.inner.listen(listener);
  }
}

/** What a closed StoredBackend did, for the fixture to check that the storage tier took part. */
export interface StorageReport {
  readonly eventsCopied: number;
  /** Rooms still not in the database after the closing flush: must be none. */
  readonly roomsPending: number;
}

/**
 * A backend with the storage tier (loader, write-behind, evictor: the code a node runs)
 * over it and `store`, for the backend contract suite to run with storage on. Its close
 * flushes the write-behind before the backend goes, as a stopping node does.
 */
export class StoredBackend implements Backend {
  readonly bus: Bus;
  private readonly tier: StorageTier;
  private readonly registry = new Registry();

  constructor(
    private readonly inner: Backend,
    store: DocumentStore,
    options: { readonly historyLimit: number; readonly log: Logger },
    private readonly closed: (report: StorageReport) => Promise<void>,
  ) {
    this.tier = new StorageTier({
      backend: inner,
      store,
      log: options.log,
      registry: this.registry,
      historyLimit: options.historyLimit,
      persistDelayMs: 10,
      persistMaxWaitMs: 50,
      // Cold rooms are never evicted here: the contract reads rooms no member entered,
      // which a node would load back first (the Yjs and cluster suites with storage on,
      // and test/storage/eviction.test.ts, evict and load back through real nodes).
      roomIdleMs: 0,
      // The contract's room events go to `events`; test/backend/storage-contract.ts and
      // test/storage/ cover the streams an app declares.
      streams: () => [DEFAULT_STREAM],
      durableTimeoutMs: 2000,
    });
    this.bus = new StoredBus(inner.bus, this.tier);
  }

  get name(): string {
    return this.inner.name;
  }
  get summary(): string {
    return this.inner.summary;
  }
  get copies(): Backend['copies'] {
    return this.inner.copies;
  }
  get restore(): Backend['restore'] {
    return this.inner.restore;
  }
  get history(): Backend['history'] {
    return this.inner.history;
  }
  get members(): Backend['members'] {
    return this.inner.members;
  }
  get state(): Backend['state'] {
    return this.inner.state;
  }
  get nodes(): Backend['nodes'] {
    return this.inner.nodes;
  }
  get documents(): Backend['documents'] {
    return this.inner.documents;
  }
  get awareness(): Backend['awareness'] {
    return this.inner.awareness;
  }
  get revocations(): Backend['revocations'] {
    return this.inner.revocations;
  }
  status(): BackendStatus {
    return this.inner.status();
  }
  onStatus(listener: (status: BackendStatus) => void): void {
    this.inner.onStatus(listener);
  }
  get useMetrics(): ((metrics: BackendMetrics) => void) | undefined {
    const inner = this.inner;
    return inner.useMetrics ? (metrics) => inner.useMetrics?.(metrics) : undefined;
  }

  async start(): Promise<void> {
    this.tier.start();
  }

  async close(): Promise<void> {
    await this.tier.close(CLOSE_FLUSH_MS);
    const report = {
      eventsCopied: await this.metric('swarmcast_storage_events_copied_total'),
      roomsPending: await this.metric('swarmcast_storage_rooms_pending'),
    };
    await this.inner.close();
    await this.closed(report);
  }

  private async metric(name: string): Promise<number> {
    const metric = await this.registry.getSingleMetric(name)?.get();
    return metric?.values.reduce((sum, value) => sum + value.value, 0) ?? 0;
  }
}
