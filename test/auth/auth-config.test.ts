import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/core/config';
import { ConfigError } from '../../src/core/errors';
import { spawnNode } from '../helpers/process';
import { keyPair, SECRET, token, upgrade } from './auth-helpers';

const refusal = (variable: string) => (err: unknown) =>
  err instanceof ConfigError && err.variable === variable;

describe('auth configuration', () => {
  it('runs open without a key outside production', () => {
    assert.deepEqual(loadConfig({}).auth, { mode: 'off', disabled: false });
  });

  it('refuses to start in production without a key, naming AUTH_JWT_SECRET, unless AUTH_DISABLED=true', () => {
    assert.throws(() => loadConfig({ NODE_ENV: 'production' }), refusal('AUTH_JWT_SECRET'));
    assert.deepEqual(loadConfig({ NODE_ENV: 'production', AUTH_DISABLED: 'true' }).auth, {
      mode: 'off',
      disabled: true,
    });
    assert.equal(loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: SECRET }).auth.mode, 'hs256');
  });

  it('refuses a short secret, a bad PEM, two keys, and a bad AUTH_DISABLED', () => {
    assert.throws(() => loadConfig({ AUTH_JWT_SECRET: 'short' }), refusal('AUTH_JWT_SECRET'));
    assert.throws(() => loadConfig({ AUTH_JWT_PUBLIC_KEY: 'nope' }), refusal('AUTH_JWT_PUBLIC_KEY'));
    const { publicPem } = keyPair('ec');
    assert.throws(
      () => loadConfig({ AUTH_JWT_SECRET: SECRET, AUTH_JWT_PUBLIC_KEY: publicPem }),
      refusal('AUTH_JWT_PUBLIC_KEY'),
    );
    assert.throws(() => loadConfig({ AUTH_DISABLED: 'yes' }), refusal('AUTH_DISABLED'));
  });

  it('keeps a configured key on even with AUTH_DISABLED=true: it only acknowledges running without one', () => {
    assert.equal(
      loadConfig({ AUTH_JWT_SECRET: SECRET, AUTH_DISABLED: 'true', NODE_ENV: 'production' }).auth.mode,
      'hs256',
    );
  });

  it('picks RS256 for an RSA key and ES256 for a P-256 key, also from a one-line PEM with \\n', () => {
    const rsa = loadConfig({ AUTH_JWT_PUBLIC_KEY: keyPair('rsa').publicPem }).auth;
    assert.equal(rsa.mode === 'public-key' && rsa.algorithm, 'RS256');
    const oneLine = keyPair('ec').publicPem.replace(/\n/g, '\\n');
    const ec = loadConfig({ AUTH_JWT_PUBLIC_KEY: oneLine }).auth;
    assert.equal(ec.mode === 'public-key' && ec.algorithm, 'ES256');
  });

  it('validates every limit variable and names the bad one', () => {
    for (const name of [
      'RATE_LIMIT_PER_SEC',
      'RATE_LIMIT_BURST',
      'RATE_LIMIT_MAX_DROPS',
      'YJS_RATE_LIMIT_PER_SEC',
      'YJS_RATE_LIMIT_BURST',
      'MAX_SEND_BUFFER_BYTES',
      'MAX_CONNECTIONS',
      'PING_INTERVAL_MS',
      'AUTH_MAX_TOKEN_BYTES',
    ]) {
      assert.throws(() => loadConfig({ AUTH_JWT_SECRET: SECRET, [name]: '-5' }), refusal(name), name);
      assert.throws(() => loadConfig({ AUTH_JWT_SECRET: SECRET, [name]: 'many' }), refusal(name), name);
    }
    const { limits } = loadConfig({});
    assert.deepEqual(limits, {
      ratePerSecond: 100,
      rateBurst: 200,
      rateMaxDrops: 200,
      pacedPerSecond: 2000,
      pacedBurst: 10_000,
      maxSendBufferBytes: 8 * 1024 * 1024,
      maxConnections: 10_000,
      pingIntervalMs: 30_000,
    });
  });
});

describe('auth in a node process', () => {
  it('exits with 2 in production without a key, and the message names AUTH_JWT_SECRET', async () => {
    await assert.rejects(spawnNode({ NODE_ENV: 'production' }), (err: Error) => {
      assert.match(err.message, /exited with 2/);
      assert.match(err.message, /AUTH_JWT_SECRET/);
      return true;
    });
  });

  it('logs a loud warning when it runs open for lack of a key', async () => {
    const node = await spawnNode({ AUTH_JWT_SECRET: '', NODE_ENV: 'development' });
    try {
      const warning = node.lines.find((line) => line.includes('AUTH IS OFF'));
      assert.ok(warning, 'a warning line');
      assert.equal((JSON.parse(warning) as { level: number }).level, 40, 'at warn level');
    } finally {
      node.kill();
      await node.exited;
    }
  });

  it('checks tokens when started by npm start with AUTH_JWT_SECRET in production', async () => {
    const node = await spawnNode({ AUTH_JWT_SECRET: SECRET, NODE_ENV: 'production' });
    try {
      const url = `ws://127.0.0.1:${node.port}/events`;
      assert.equal((await upgrade(url)).status, 401);
      const ok = await upgrade(`${url}?token=${await token({ sub: 'u1' })}`);
      assert.equal(ok.status, 101);
      ok.socket?.terminate();
      assert.ok(!node.lines.some((line) => line.includes('AUTH IS OFF')));
    } finally {
      node.kill();
      await node.exited;
    }
  });
});
