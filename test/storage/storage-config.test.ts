import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/core/config';
import { ConfigError } from '../../src/core/errors';

const named = (variable: string, text?: RegExp) => (err: unknown) =>
  err instanceof ConfigError && err.variable === variable && (!text || text.test(err.message));

describe('storage configuration', () => {
  it('keeps the embedded node in a file under ./data by default', () => {
    const { storage } = loadConfig({});
    assert.equal(storage.kind, 'file');
    assert.equal(storage.kind === 'file' && storage.dir, './data');
    assert.equal(storage.kind === 'file' && storage.persistDelayMs, 1000);
  });

  it('uses DATA_DIR for the file', () => {
    const { storage } = loadConfig({ DATA_DIR: '/var/lib/swarmcast' });
    assert.equal(storage.kind === 'file' && storage.dir, '/var/lib/swarmcast');
  });

  it('keeps a Redis cluster without DATABASE_URL Redis-only, as before storage existed', () => {
    assert.deepEqual(loadConfig({ REDIS_URL: 'redis://r:6379' }).storage, { kind: 'none' });
  });

  it('uses PostgreSQL when DATABASE_URL is set, with the copy timings', () => {
    const { storage } = loadConfig({
      REDIS_URL: 'redis://r:6379',
      DATABASE_URL: 'postgres://u:p@db:5432/swarmcast',
      PERSIST_DELAY_MS: '200',
      ROOM_IDLE_MS: '0',
      DURABLE_TIMEOUT_MS: '3000',
    });
    assert.deepEqual(storage, {
      kind: 'postgres',
      url: 'postgres://u:p@db:5432/swarmcast',
      persistDelayMs: 200,
      persistMaxWaitMs: 1000,
      roomIdleMs: 0,
      durableTimeoutMs: 3000,
    });
  });

  it('keeps the embedded node memory-only with STORAGE=none', () => {
    assert.deepEqual(loadConfig({ STORAGE: 'none' }).storage, { kind: 'none' });
  });

  it('refuses a file database for a Redis cluster, saying why', () => {
    assert.throws(
      () => loadConfig({ REDIS_URL: 'redis://r:6379', STORAGE: 'file' }),
      named('STORAGE', /nodes on other hosts would each have their own file/),
    );
  });

  for (const [env, variable] of [
    [{ DATABASE_URL: 'http://db:5432/x' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ STORAGE: 'postgres' }, 'DATABASE_URL'],
    [{ STORAGE: 'none', DATABASE_URL: 'postgres://db/x' }, 'STORAGE'],
    [{ STORAGE: 'file', DATABASE_URL: 'postgres://db/x' }, 'STORAGE'],
    [{ STORAGE: 's3' }, 'STORAGE'],
    [{ PERSIST_DELAY_MS: 'soon' }, 'PERSIST_DELAY_MS'],
    [{ PERSIST_DELAY_MS: '500', PERSIST_MAX_WAIT_MS: '100' }, 'PERSIST_MAX_WAIT_MS'],
    [{ ROOM_IDLE_MS: '-1' }, 'ROOM_IDLE_MS'],
    [{ DURABLE_TIMEOUT_MS: '1' }, 'DURABLE_TIMEOUT_MS'],
  ] as const) {
    it(`names ${variable} for ${JSON.stringify(env)}`, () => {
      assert.throws(() => loadConfig(env), named(variable));
    });
  }
});
