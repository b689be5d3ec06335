import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config';
import { ConfigError } from '../src/errors';

const main = path.join(__dirname, '..', 'src', 'main.js');

describe('configuration', () => {
  it('defaults to port 8080 and the embedded backend', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.redisUrl, undefined);
  });

  it('accepts SERVER_PORT and REDIS_SERVER as aliases, and host:port for Redis', () => {
    const config = loadConfig({ SERVER_PORT: '9001', REDIS_SERVER: 'redis:6379' });
    assert.equal(config.port, 9001);
    assert.equal(config.redisUrl, 'redis://redis:6379');
  });

  for (const [name, value] of [
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['LOG_LEVEL', 'loud'],
    ['KEY_PREFIX', 'has space'],
    ['MAX_FRAME_BYTES', '-1'],
    ['DRAIN_TIMEOUT_MS', '1.5'],
  ] as const) {
    it(`names ${name} when it is "${value}"`, () => {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (err: unknown) => err instanceof ConfigError && err.variable === name,
      );
    });
  }

  it('stops the process with a message naming a bad variable', () => {
    const result = spawnSync(process.execPath, [main], {
      env: { ...process.env, PORT: 'nope' },
      encoding: 'utf8',
    });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /PORT: must be a whole number/);
  });
});
