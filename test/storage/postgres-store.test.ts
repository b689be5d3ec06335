import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { PostgresStore } from '../../src/backend/storage/postgres-store';
import { SCHEMA_VERSION } from '../../src/backend/storage/schema-version';
import { ConfigError } from '../../src/core/errors';
import { createLogger } from '../../src/core/log';
import { TestPostgres } from '../helpers/postgres';
import { freePort } from '../helpers/redis';
import { documentStoreSuite } from './document-store-suite';
import { assertMigratedFromV1, V1_DOCUMENT, v1Schema } from './schema-v1';

const log = createLogger('silent', 'test');
const urls = new WeakMap<PostgresStore, string>();

async function opened(url: string): Promise<PostgresStore> {
  const store = new PostgresStore({ url, log });
  urls.set(store, url);
  await store.open();
  return store;
}

let shared: TestPostgres | undefined;
documentStoreSuite('PostgreSQL', async () => {
  shared = await TestPostgres.start();
  const server = shared;
  return {
    create: async () => opened(await server.database()),
    reopen: async (store) => opened(urls.get(store as PostgresStore)!),
    teardown: () => server.close(),
  };
});

describe('PostgresStore at start', () => {
  let server: TestPostgres;
  before(async () => {
    server = await TestPostgres.start();
  });
  after(() => server.close());

  it('creates the schema at the version of the code', async () => {
    const url = await server.database();
    const store = await opened(url);
    await store.close();
    const client = new Client({ connectionString: url });
    await client.connect();
    const found = await client.query<{ version: number }>('SELECT version FROM swarmcast_schema');
    await client.end();
    assert.deepEqual(found.rows, [{ version: SCHEMA_VERSION }]);
  });

  it('lets several nodes start on one new database at once', async () => {
    const url = await server.database();
    const stores = await Promise.all(Array.from({ length: 4 }, () => opened(url)));
    await stores[0]!.save({ room: 'r', state: { a: 1 }, activeAt: 1 });
    assert.deepEqual((await stores[3]!.load('r', 0))?.state, { a: 1 });
    for (const store of stores) await store.close();
  });

  it('migrates a version 1 database in place: everything kept, offsets continuing', async () => {
    const url = await server.database();
    const client = new Client({ connectionString: url });
    await client.connect();
    for (const sql of v1Schema({ json: 'json', bytes: 'bytea' })) await client.query(sql);
    await client.query("UPDATE swarmcast_rooms SET yjs_update = $1 WHERE room = 'old'", [
      Buffer.from(V1_DOCUMENT),
    ]);
    const stores = await Promise.all([opened(url), opened(url)]); // two nodes starting at once migrate once
    try {
      await assertMigratedFromV1(stores[0]!);
      assert.deepEqual((await stores[1]!.progress('old')).streams.events, { offset: 5, epoch: 'e1' });
      const found = await client.query<{ version: number }>('SELECT version FROM swarmcast_schema');
      assert.deepEqual(found.rows, [{ version: SCHEMA_VERSION }]);
    } finally {
      await client.end();
      for (const store of stores) await store.close();
    }
  });

  it('stores a document deflated with its size, and still loads one a version 2 node stored raw', async () => {
    const url = await server.database();
    const store = await opened(url);
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      // A large, repetitive update, as text documents are, and bytes of every value.
      const update = new Uint8Array(200_000);
      for (let i = 0; i < update.length; i++) update[i] = i % 7 === 0 ? i % 256 : 97;
      await store.save({ room: 'big', document: { update, offset: 3, epoch: 'y1' }, activeAt: 1 });
      const row = await client.query<{ yjs_encoding: string; stored: number; yjs_bytes: string }>(
        `SELECT yjs_encoding, octet_length(yjs_document) AS stored, yjs_bytes FROM swarmcast_rooms WHERE room = 'big'`,
      );
      assert.equal(row.rows[0]!.yjs_encoding, 'deflate-raw');
      assert.equal(Number(row.rows[0]!.yjs_bytes), update.length);
      assert.ok(
        row.rows[0]!.stored < update.length / 4,
        `stored ${row.rows[0]!.stored} bytes of ${update.length}`,
      );
      assert.deepEqual((await store.load('big', 0))?.document?.update, update);
      assert.equal(
        (await store.rooms({ limit: 10 })).find((r) => r.room === 'big')?.bytes,
        update.length + 2,
      );

      // A row as version 2 wrote it: the document's own bytes, encoding 'raw'.
      await store.save({ room: 'old', state: {}, activeAt: 1 });
      await client.query(
        `UPDATE swarmcast_rooms SET yjs_document = $1, yjs_encoding = 'raw', yjs_epoch = 'y0', yjs_offset = 2 WHERE room = 'old'`,
        [Buffer.from([1, 2, 3])],
      );
      assert.deepEqual((await store.load('old', 0))?.document?.update, Uint8Array.from([1, 2, 3]));
    } finally {
      await client.end();
      await store.close();
    }
  });

  it('refuses a database whose schema is newer than the code, naming DATABASE_URL', async () => {
    const url = await server.database();
    await (await opened(url)).close();
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.query('UPDATE swarmcast_schema SET version = $1', [SCHEMA_VERSION + 1]);
    await client.end();
    const store = new PostgresStore({ url, log });
    await assert.rejects(
      store.open(),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.variable === 'DATABASE_URL' &&
        err.message.includes(`version ${SCHEMA_VERSION + 1}, newer than this code's ${SCHEMA_VERSION}`),
    );
    await store.close();
  });

  it('refuses a database it cannot reach, naming DATABASE_URL without its password', async () => {
    const url = `postgres://swarm:secret@127.0.0.1:${await freePort()}/nowhere`;
    const store = new PostgresStore({ url, log });
    await assert.rejects(
      store.open(),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.variable === 'DATABASE_URL' &&
        err.message.includes('cannot connect to postgres://swarm:***@127.0.0.1') &&
        !err.message.includes('secret'),
    );
    await store.close();
  });

  it('refuses a database that does not exist, naming DATABASE_URL', async () => {
    const url = new URL(await server.database());
    url.pathname = '/no_such_database';
    const store = new PostgresStore({ url: url.toString(), log });
    await assert.rejects(
      store.open(),
      (err: unknown) => err instanceof ConfigError && /no_such_database/.test(err.message),
    );
    await store.close();
  });
});
