import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MemoryBackend } from '../src/backend/memory/memory-backend';
import { SharedMemory } from '../src/backend/memory/shared-memory';
import { loadConfig } from '../src/core/config';
import { SwarmNode } from '../src/node';
import { JsonClient } from './helpers/client';
import { uniquePrefix } from './helpers/nodes';
import { type NodeProcess, spawnNode } from './helpers/process';
import { TestRedis } from './helpers/redis';
import { waitFor, within } from './helpers/wait';

const MAIN = path.join(__dirname, '..', 'src', 'main.js');

/** Runs `node dist/src/main.js` to its exit; resolves with its exit code and output. */
async function runToExit(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [MAIN], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  proc.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  try {
    const code = await within(
      new Promise<number | null>((resolve) => proc.once('exit', resolve)),
      'the node process to exit',
      15_000,
    );
    return { code, stdout, stderr };
  } finally {
    proc.kill('SIGKILL');
  }
}

/** Starts `node dist/src/main.js` and resolves with its first log line that contains `text`; then kills it. */
async function firstLineWith(
  env: Record<string, string>,
  text: string,
): Promise<{ line: string; all: string[] }> {
  const proc = spawn(process.execPath, [MAIN], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const all: string[] = [];
  for (const stream of [proc.stdout, proc.stderr]) {
    stream.on('data', (chunk: Buffer) => all.push(...chunk.toString().split('\n').filter(Boolean)));
  }
  try {
    const line = await waitFor(() => all.find((l) => l.includes(text)), `a log line with "${text}"`, 15_000);
    return { line, all };
  } finally {
    proc.kill('SIGKILL');
  }
}

describe('starting a node', () => {
  let redis: TestRedis;
  let taken: Server;
  let takenPort: number;
  const nodes: NodeProcess[] = [];

  before(async () => {
    redis = await TestRedis.start();
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    takenPort = (taken.address() as { port: number }).port;
  });
  after(async () => {
    for (const node of nodes) node.kill('SIGKILL');
    await new Promise<void>((resolve) => taken.close(() => resolve()));
    await redis.close();
  });

  it('exits with code 2 and one line naming PORT and the address when the port is taken, leaving nothing in Redis', async () => {
    const prefix = uniquePrefix('taken');
    const client = redis.client();
    try {
      const before = Number((await client.info('stats')).match(/total_connections_received:(\d+)/)![1]);
      const { code, stdout, stderr } = await runToExit({
        PORT: String(takenPort),
        HOST: '127.0.0.1',
        REDIS_URL: redis.url,
        KEY_PREFIX: prefix,
      });
      assert.equal(code, 2, stderr);
      assert.equal(
        stderr,
        `swarmcast: cannot start: PORT: 127.0.0.1:${takenPort} is already in use (EADDRINUSE)\n`,
      );
      assert.equal(stdout, '');
      assert.deepEqual(await client.keys(`${prefix}*`), []);
      // Not even a connection: the port is bound before the backend starts.
      const afterRun = Number((await client.info('stats')).match(/total_connections_received:(\d+)/)![1]);
      assert.equal(afterRun, before, 'no connection reached Redis');
    } finally {
      client.disconnect();
    }
  });

  it('logs the refused Redis address (password redacted) and the system error', async () => {
    const { line, all } = await firstLineWith(
      { REDIS_URL: 'redis://:hunter2@127.0.0.1:1', KEY_PREFIX: uniquePrefix('refused') },
      'is unreachable',
    );
    const entry = JSON.parse(line) as { level: number; msg: string; redis: string; cause: string };
    assert.equal(entry.cause, 'ECONNREFUSED 127.0.0.1:1');
    assert.equal(entry.redis, 'redis://:***@127.0.0.1:1');
    assert.match(
      entry.msg,
      /^Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1 is unreachable \(ECONNREFUSED 127\.0\.0\.1:1\)/,
    );
    assert.ok(!all.some((l) => l.includes('hunter2')), 'the password is never logged');
  });

  it('logs the Redis host name that does not resolve and the system error', async () => {
    const { line } = await firstLineWith(
      { REDIS_URL: 'redis://no-such-host.invalid:6379', KEY_PREFIX: uniquePrefix('unresolved') },
      'is unreachable',
    );
    const entry = JSON.parse(line) as { cause: string; msg: string };
    assert.equal(entry.cause, 'ENOTFOUND no-such-host.invalid');
    assert.match(
      entry.msg,
      /^Redis at redis:\/\/no-such-host\.invalid:6379 is unreachable \(ENOTFOUND no-such-host\.invalid\)/,
    );
  });

  it('logs the address and the cause when the Redis connection is lost', async () => {
    const own = await TestRedis.start();
    try {
      const node = await spawnNode({ REDIS_URL: own.url, KEY_PREFIX: uniquePrefix('lost') });
      nodes.push(node);
      await own.stop();
      const line = await waitFor(() => node.lines.find((l) => l.includes('lost (')), 'the lost line', 10_000);
      const entry = JSON.parse(line) as { redis: string; msg: string };
      assert.equal(entry.redis, `${own.url}`.replace(/\/?$/, ''));
      assert.match(
        entry.msg,
        new RegExp(`^Redis connection to ${entry.redis.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} lost \\(`),
      );
    } finally {
      await own.close();
    }
  });

  it('answers 503 "starting" to /readyz and to upgrades while its backend starts, then serves', async () => {
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // A backend whose start waits for the test, as a slow Redis would.
    const backend = new MemoryBackend(config.nodeId, new SharedMemory(config.historyLimit));
    const start = backend.start.bind(backend);
    backend.start = async () => {
      await gate;
      await start();
    };
    const node = new SwarmNode({ config, backend });
    const started = node.start();
    try {
      const port = await waitFor(() => node.port, 'the port to be bound');
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(ready.status, 503);
      assert.equal(((await ready.json()) as { reason: string }).reason, 'starting');
      await assert.rejects(JsonClient.connect(`ws://127.0.0.1:${port}/events`), /503/);
      release();
      assert.equal(await started, port);
      assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
      const client = await JsonClient.connect(`ws://127.0.0.1:${port}/events`);
      client.socket.terminate();
    } finally {
      release();
      await started.catch(() => {});
      await node.close();
    }
  });
});
