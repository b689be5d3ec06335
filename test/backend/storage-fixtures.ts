import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DocumentStore } from '../../src/backend/storage/document-store';
import { FileStore } from '../../src/backend/storage/file-store';
import { PostgresStore } from '../../src/backend/storage/postgres-store';
import { createLogger } from '../../src/core/log';
import { TestPostgres } from '../helpers/postgres';
import type { BackendFixture, Deployment } from './backend-fixture';
import { type StorageReport, StoredBackend } from './stored-backend';

const silent = createLogger('silent', 'backend-contract');

/** Where a storage fixture's deployments keep their rooms: one fresh store per deployment. */
interface StoreMaker {
  readonly name: string;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  make(): Promise<DocumentStore>;
}

/**
 * `fixture` with the storage tier on: every backend of a deployment runs the loader and
 * the write-behind over one store, as the nodes of a cluster share one database. A
 * backend that closes with rooms not copied fails the test that used it, and a suite in
 * which nothing was copied fails: storage on must have been on.
 */
function withStorage(fixture: BackendFixture, store: StoreMaker): BackendFixture {
  let copied = 0;
  return {
    name: `${fixture.name} with ${store.name}`,
    async setUp() {
      await Promise.all([fixture.setUp?.(), store.setUp()]);
    },
    async tearDown() {
      await Promise.all([fixture.tearDown?.(), store.tearDown()]);
      if (copied === 0) throw new Error(`nothing was copied to ${store.name}: the storage tier did not run`);
    },
    deployment(options): Deployment {
      const base = fixture.deployment(options);
      let opened: Promise<DocumentStore> | undefined;
      let open = 0;
      const closed = async (report: StorageReport) => {
        copied += report.eventsCopied;
        if (--open === 0) await (await opened)?.close();
        if (report.roomsPending > 0) {
          throw new Error(
            `${report.roomsPending} room(s) were not copied to ${store.name} by the closing flush`,
          );
        }
      };
      return {
        ...base,
        async node(id) {
          opened ??= store.make().then(async (made) => {
            await made.open();
            return made;
          });
          const inner = await base.node(id);
          open++;
          const backend = new StoredBackend(
            inner,
            await opened,
            { historyLimit: options.historyLimit, log: silent },
            closed,
          );
          await backend.start();
          return backend;
        },
      };
    },
  };
}

/** The embedded backend's store: a file, one directory per deployment. */
export function withFileStore(fixture: BackendFixture): BackendFixture {
  let root: string | undefined;
  return withStorage(fixture, {
    name: 'the file store',
    async setUp() {
      root = mkdtempSync(path.join(tmpdir(), 'swarmcast-contract-'));
    },
    async tearDown() {
      if (root) rmSync(root, { recursive: true, force: true });
    },
    async make() {
      if (!root) throw new Error('the file store fixture is not set up');
      return new FileStore(mkdtempSync(path.join(root, 'd-')));
    },
  });
}

/** A cluster's store: a private PostgreSQL (or TEST_DATABASE_URL), one database per deployment. */
export function withPostgres(fixture: BackendFixture): BackendFixture {
  let postgres: TestPostgres | undefined;
  return withStorage(fixture, {
    name: 'PostgreSQL',
    async setUp() {
      postgres = await TestPostgres.start();
    },
    async tearDown() {
      await postgres?.close();
    },
    async make() {
      if (!postgres) throw new Error('the PostgreSQL fixture is not set up');
      return new PostgresStore({ url: await postgres.database(), log: silent });
    },
  });
}
