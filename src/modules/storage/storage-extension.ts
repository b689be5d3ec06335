import type { DocumentStore } from '../../backend/storage/document-store';
import { createDocumentStore } from '../../backend/storage/index';
import type { Extension, Host } from '../../core/host';
import type { AdminEndpoint } from '../admin/admin-api';
import type { Persister } from './persister';
import { roomHistory } from './room-history';
import { storageEndpoints } from './storage-admin';
import { eventStreamsOf, StorageTier } from './storage-tier';

export interface StorageOptions {
  /** A store of the user's own (S3, a service): used instead of the one STORAGE / DATABASE_URL choose. */
  readonly store?: DocumentStore;
}

/** How long a stopping node keeps copying what it has pending before it lets go. */
const CLOSE_FLUSH_MS = 5000;

/**
 * The durable tier behind Redis (docs/storage.md): opens the store at start (a bad
 * DATABASE_URL or a newer schema stops the node), copies what this node appends
 * (write-behind), and answers `"durable": true` events once they are in the database.
 */
export class StorageExtension implements Extension {
  readonly name = 'storage';
  private installed:
    | {
        store: DocumentStore;
        tier: StorageTier;
        endpoints: Record<string, AdminEndpoint>;
      }
    | undefined;

  constructor(private readonly options: StorageOptions = {}) {}

  /** The open store, once installed with one (the admin API reads it). */
  get store(): DocumentStore | undefined {
    return this.installed?.store;
  }

  get persister(): Persister | undefined {
    return this.installed?.tier.persister;
  }

  /** The admin API's storage routes (none without storage); read once the node is installing the API. */
  adminEndpoints(): Record<string, AdminEndpoint> {
    return this.installed?.endpoints ?? {};
  }

  async install(node: Host): Promise<void> {
    const config = node.config.storage;
    const store = this.options.store ?? createDocumentStore(config, node.log);
    if (!store || config.kind === 'none') {
      node.log.info(
        { storage: 'none' },
        node.backend.name === 'memory' /* only for the wording of the log line */
          ? 'storage off (STORAGE=none): rooms live only in this process and are lost when it stops'
          : 'storage off: rooms live only in Redis (set DATABASE_URL to keep them in PostgreSQL)',
      );
      return;
    }
    await store.open();
    const tier = new StorageTier({
      backend: node.backend,
      store,
      log: node.log,
      registry: node.metrics.registry,
      historyLimit: node.config.historyLimit,
      persistDelayMs: config.persistDelayMs,
      persistMaxWaitMs: config.persistMaxWaitMs,
      roomIdleMs: config.roomIdleMs,
      durableTimeoutMs: config.durableTimeoutMs,
      streams: () => eventStreamsOf(node.registry),
    });
    const endpoints = storageEndpoints({
      node,
      store,
      restore: tier.restore,
      coordination: tier.coordination,
      document: tier.document,
    });
    this.installed = { store, tier, endpoints };
    tier.start();
    const { loader, persister } = tier;
    node.registry.register(roomHistory(store, () => eventStreamsOf(node.registry)));
    node.hub.beforeEnter((room) => loader.ensure(room));
    node.hub.whileLoading((room) => loader.loadingDocument(room));
    node.onAppended((event) => persister.appended(event));
    node.setDurableWait((event) => persister.durable(event));
    node.log.info(
      { storage: config.kind, where: store.description, persistDelayMs: config.persistDelayMs },
      `storage: ${store.description}; new events are copied within ${config.persistMaxWaitMs} ms`,
    );
  }

  async close(): Promise<void> {
    const installed = this.installed;
    if (!installed) return;
    this.installed = undefined;
    await installed.tier.close(CLOSE_FLUSH_MS);
    await installed.store.close();
  }
}
