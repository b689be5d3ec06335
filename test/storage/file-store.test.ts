import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { FILE_NAME, FileStore } from '../../src/backend/storage/file-store';
import { SCHEMA_VERSION } from '../../src/backend/storage/schema-version';
import { ConfigError } from '../../src/core/errors';
import { documentStoreSuite } from './document-store-suite';
import { assertMigratedFromV1, V1_DOCUMENT, v1Schema } from './schema-v1';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'swarmcast-file-store-'));
  dirs.push(dir);
  return dir;
}
const stores = new WeakMap<FileStore, string>();
async function opened(dir: string): Promise<FileStore> {
  const store = new FileStore(dir);
  stores.set(store, dir);
  await store.open();
  return store;
}

documentStoreSuite('file (SQLite)', async () => ({
  create: () => opened(tempDir()),
  reopen: async (store) => opened(stores.get(store as FileStore)!),
  teardown: async () => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  },
}));

describe('FileStore at start', () => {
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('creates DATA_DIR and the file when they do not exist', async () => {
    const dir = path.join(tempDir(), 'nested', 'data');
    const store = await opened(dir);
    await store.save({ room: 'r', state: { a: 1 }, activeAt: 1 });
    await store.close();
    const db = new Database(path.join(dir, FILE_NAME), { readonly: true });
    assert.deepEqual(db.prepare('SELECT version FROM swarmcast_schema').all(), [{ version: SCHEMA_VERSION }]);
    db.close();
  });

  it('migrates a version 1 file in place: everything kept, offsets continuing', async () => {
    const dir = tempDir();
    const db = new Database(path.join(dir, FILE_NAME));
    for (const sql of v1Schema({ json: 'TEXT', bytes: 'BLOB' })) db.exec(sql);
    db.prepare("UPDATE swarmcast_rooms SET yjs_update = ? WHERE room = 'old'").run(Buffer.from(V1_DOCUMENT));
    db.close();
    const store = await opened(dir);
    try {
      await assertMigratedFromV1(store);
    } finally {
      await store.close();
    }
    const after = new Database(path.join(dir, FILE_NAME), { readonly: true });
    assert.deepEqual(after.prepare('SELECT version FROM swarmcast_schema').all(), [
      { version: SCHEMA_VERSION },
    ]);
    after.close();
    // Opened again, the migrated file is as it was left.
    const again = await opened(dir);
    assert.deepEqual((await again.progress('old')).streams.events, { offset: 5, epoch: 'e1' });
    await again.close();
  });

  it('refuses a file whose schema is newer than the code, naming DATA_DIR', async () => {
    const dir = tempDir();
    await (await opened(dir)).close();
    const db = new Database(path.join(dir, FILE_NAME));
    db.prepare('UPDATE swarmcast_schema SET version = ?').run(SCHEMA_VERSION + 1);
    db.close();
    await assert.rejects(
      new FileStore(dir).open(),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.variable === 'DATA_DIR' &&
        err.message.includes(
          `schema version ${SCHEMA_VERSION + 1}, newer than this code's ${SCHEMA_VERSION}`,
        ),
    );
  });

  it('refuses a DATA_DIR it cannot use, naming it', async () => {
    const dir = tempDir();
    const notADir = path.join(dir, 'file');
    writeFileSync(notADir, 'x');
    await assert.rejects(
      new FileStore(path.join(notADir, 'data')).open(),
      (err: unknown) => err instanceof ConfigError && err.variable === 'DATA_DIR',
    );
  });

  it('refuses a file that is not a database, naming DATA_DIR', async () => {
    const dir = tempDir();
    writeFileSync(
      path.join(dir, FILE_NAME),
      'this is not SQLite, it is just some text long enough'.repeat(20),
    );
    await assert.rejects(
      new FileStore(dir).open(),
      (err: unknown) => err instanceof ConfigError && err.variable === 'DATA_DIR',
    );
  });
});
