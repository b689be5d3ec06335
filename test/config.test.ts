import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { configFromOptions, loadConfig, OPTION_VARIABLES, type SwarmOptions } from '../src/core/config';
import { ConfigError } from '../src/core/errors';

const main = path.join(__dirname, '..', 'src', 'main.js');

describe('configuration', () => {
  it('defaults to port 8080 and the embedded backend', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.redisUrl, undefined);
  });

  it('remembers room event ids for 5 minutes unless IDEMPOTENCY_WINDOW_MS says otherwise (0: off)', () => {
    assert.equal(loadConfig({}).idempotencyWindowMs, 300_000);
    assert.equal(loadConfig({ IDEMPOTENCY_WINDOW_MS: '0' }).idempotencyWindowMs, 0);
    assert.equal(loadConfig({ IDEMPOTENCY_WINDOW_MS: '60000' }).idempotencyWindowMs, 60_000);
  });

  it('accepts SERVER_PORT and REDIS_SERVER as aliases, and host:port for Redis', () => {
    const config = loadConfig({ SERVER_PORT: '9001', REDIS_SERVER: 'redis:6379' });
    assert.equal(config.port, 9001);
    assert.equal(config.redisUrl, 'redis://redis:6379');
  });

  it('reads REDIS_CLUSTER_NODES as seeds, with the password and TLS of the seeds that name them', () => {
    const config = loadConfig({
      REDIS_CLUSTER_NODES: 'rediss://:s3cret@cache-1.example:6380, cache-2.example:6380,cache-3.example',
      REDIS_WAIT_REPLICAS: '1',
    });
    assert.deepEqual(config.redisCluster, {
      nodes: [
        { host: 'cache-1.example', port: 6380 },
        { host: 'cache-2.example', port: 6380 },
        { host: 'cache-3.example', port: 6379 },
      ],
      natMap: {},
      username: undefined,
      password: 's3cret',
      tls: true,
    });
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.redisWaitReplicas, 1);
    assert.equal(loadConfig({}).redisWaitReplicas, 0);
  });

  it('reads REDIS_CLUSTER_NAT_MAP: where each announced node address is reached', () => {
    const config = loadConfig({
      REDIS_CLUSTER_NODES: 'gateway:17000',
      REDIS_CLUSTER_NAT_MAP: '10.0.0.5:6379=gateway:17000, 10.0.0.6:6379=gateway:17001',
    });
    assert.deepEqual(config.redisCluster?.natMap, {
      '10.0.0.5:6379': { host: 'gateway', port: 17000 },
      '10.0.0.6:6379': { host: 'gateway', port: 17001 },
    });
  });

  for (const env of [
    { REDIS_CLUSTER_NAT_MAP: '10.0.0.5:6379=gateway:17000' },
    { REDIS_CLUSTER_NODES: 'a:7000', REDIS_CLUSTER_NAT_MAP: '10.0.0.5:6379' },
    { REDIS_CLUSTER_NODES: 'a:7000', REDIS_CLUSTER_NAT_MAP: '10.0.0.5=gateway:17000' },
    { REDIS_CLUSTER_NODES: 'a:7000', REDIS_CLUSTER_NAT_MAP: '10.0.0.5:6379=gateway:99999' },
    { REDIS_CLUSTER_NODES: 'a:7000', REDIS_CLUSTER_NAT_MAP: 'a:1=b:2,a:1=c:3' },
  ]) {
    it(`names REDIS_CLUSTER_NAT_MAP for ${JSON.stringify(env)}`, () => {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => err instanceof ConfigError && err.variable === 'REDIS_CLUSTER_NAT_MAP',
      );
    });
  }

  for (const env of [
    { REDIS_CLUSTER_NODES: 'a:7000', REDIS_URL: 'redis://b:6379' },
    { REDIS_CLUSTER_NODES: 'a:7000', REDIS_SERVER: 'b:6379' },
    { REDIS_CLUSTER_NODES: 'a:70000' },
    { REDIS_CLUSTER_NODES: 'http://a:7000' },
    { REDIS_CLUSTER_NODES: 'a:7000/2' },
    { REDIS_CLUSTER_NODES: 'redis://:one@a:7000,redis://:two@b:7000' },
    { REDIS_CLUSTER_NODES: 'a:7000,,b:7000' },
  ]) {
    it(`names REDIS_CLUSTER_NODES for ${JSON.stringify(env)}`, () => {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => err instanceof ConfigError && err.variable === 'REDIS_CLUSTER_NODES',
      );
    });
  }

  for (const [name, value] of [
    ['REDIS_WAIT_REPLICAS', '-1'],
    ['REDIS_WAIT_REPLICAS', 'all'],
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['LOG_LEVEL', 'loud'],
    ['KEY_PREFIX', 'has space'],
    ['MAX_FRAME_BYTES', '-1'],
    ['DRAIN_TIMEOUT_MS', '1.5'],
    ['IDEMPOTENCY_WINDOW_MS', '-1'],
    ['IDEMPOTENCY_WINDOW_MS', '5m'],
    ['IDEMPOTENCY_WINDOW_MS', '86400001'],
  ] as const) {
    it(`names ${name} when it is "${value}"`, () => {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (err: unknown) => err instanceof ConfigError && err.variable === name,
      );
    });
  }

  /** The error `load` throws; fails the test when it throws none. */
  const failure = (load: () => unknown): ConfigError => {
    try {
      load();
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err;
    }
    assert.fail('the setting was accepted');
  };

  // Each bad option from code next to the same mistake in the environment.
  const mistakes: Array<[Record<string, string>, SwarmOptions]> = [
    [{ PORT: 'eighty' }, { port: 'eighty' as unknown as number }],
    [{ PORT: '70000' }, { port: 70000 }],
    [{ DRAIN_TIMEOUT_MS: '1.5' }, { drainTimeoutMs: 1.5 }],
    [{ MAX_CONNECTIONS: '0' }, { maxConnections: 0 }],
    [{ REDIS_URL: 'http://localhost:6379' }, { redisUrl: 'http://localhost:6379' }],
    [{ LOG_LEVEL: 'loud' }, { logLevel: 'loud' as never }],
    [{ KEY_PREFIX: 'has space' }, { keyPrefix: 'has space' }],
    [{ ADMIN_TOKEN: 'short' }, { adminToken: 'short' }],
    [
      { HEARTBEAT_MS: '1000', NODE_TTL_MS: '500' },
      { heartbeatMs: 1000, nodeTtlMs: 500 },
    ],
    [{ AUTH_JWT_SECRET: 'short' }, { authJwtSecret: 'short' }],
    [{ AUTH_DISABLED: 'yes' }, { authDisabled: 'yes' as never }],
    [{ NODE_ENV: 'production' }, { production: true }],
    [{ RATE_LIMIT_BURST: '0' }, { rateLimitBurst: 0 }],
  ];
  for (const [env, options] of mistakes) {
    it(`refuses ${JSON.stringify(options)} in code with the message ${Object.keys(env).join(', ')} gets`, () => {
      const fromEnv = failure(() => loadConfig(env));
      const fromCode = failure(() => configFromOptions(options));
      assert.equal(fromCode.message, fromEnv.message);
      assert.equal(fromCode.variable, fromEnv.variable);
      assert.ok(OPTION_VARIABLES[fromCode.option as keyof SwarmOptions].includes(fromEnv.variable));
    });
  }

  it('refuses an option that does not exist, naming it', () => {
    const err = failure(() => configFromOptions({ prot: 8080 } as SwarmOptions));
    assert.equal(err.message, 'prot: is not an option (the options are listed in docs/configuration.md)');
  });

  it('reads an options object into the settings its environment variables give', () => {
    const env = {
      NODE_ID: 'same',
      REDIS_SERVER: '127.0.0.1:7000',
      HEARTBEAT_MS: '500',
      AUTH_JWT_SECRET: 'x'.repeat(32),
      AUTH_JWT_ISSUER: 'me',
      RATE_LIMIT_PER_SEC: '0',
    };
    const options: SwarmOptions = {
      nodeId: 'same',
      redisUrl: '127.0.0.1:7000',
      heartbeatMs: 500,
      authJwtSecret: 'x'.repeat(32),
      authJwtIssuer: 'me',
      rateLimitPerSec: 0,
    };
    assert.deepEqual(configFromOptions(options), loadConfig(env));
    assert.deepEqual(configFromOptions({ nodeId: 'n' }), loadConfig({ NODE_ID: 'n' }));
  });

  it('stops the process with a message naming a bad variable', () => {
    const result = spawnSync(process.execPath, [main], {
      env: { ...process.env, PORT: 'nope' },
      encoding: 'utf8',
    });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /PORT: must be a whole number/);
  });
});
