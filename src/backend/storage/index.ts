import type { StorageConfig } from '../../core/config';
import type { Logger } from '../../core/log';
import type { DocumentStore } from './document-store';
import { FileStore } from './file-store';
import { PostgresStore } from './postgres-store';

export type * from './document-store';

/** The store the configuration asks for; undefined for STORAGE=none. */
export function createDocumentStore(storage: StorageConfig, log: Logger): DocumentStore | undefined {
  switch (storage.kind) {
    case 'none':
      return undefined;
    case 'postgres':
      return new PostgresStore({ url: storage.url, log });
    case 'file':
      return new FileStore(storage.dir);
  }
}
