import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Redis from 'ioredis';
import { freePort } from './helpers/redis';
import { waitFor, within } from './helpers/wait';

const root = path.join(__dirname, '..', '..');

/** `npm run redis` in its own process group, as in a terminal; resolves once it answers PING. */
async function startScript(port: number): Promise<{ proc: ChildProcess; output: string[] }> {
  const proc = spawn('npm', ['run', 'redis'], {
    cwd: root,
    env: { ...process.env, REDIS_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const output: string[] = [];
  proc.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  proc.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  await waitFor(
    async () => {
      const probe = new Redis(port, '127.0.0.1', {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      probe.on('error', () => {});
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        probe.disconnect();
      }
    },
    `npm run redis to answer on ${port}`,
    15_000,
  );
  return { proc, output };
}

/** Ctrl-C, as a terminal sends it to the whole group; resolves once npm and redis-server are gone. */
async function interrupt(proc: ChildProcess, output: string[]): Promise<void> {
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  process.kill(-proc.pid!, 'SIGINT');
  await within(exited, 'npm run redis to stop', 15_000);
  // redis-server's own last line of a clean shutdown (AOF written), not a kill.
  await waitFor(
    () => output.join('').includes('ready to exit, bye bye'),
    'redis-server to shut down cleanly',
  );
}

describe('npm run redis (the local cluster’s Redis)', () => {
  const dirs: string[] = [];
  const running: ChildProcess[] = [];
  after(() => {
    for (const proc of running) {
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('serves on REDIS_PORT with its data under the project, kept across a Ctrl-C and a restart', async () => {
    const port = await freePort();
    const dir = path.join(root, '.data', `redis-${port}`);
    dirs.push(dir);
    const first = await startScript(port);
    running.push(first.proc);
    assert.match(first.output.join(''), new RegExp(`REDIS_URL=redis://127\\.0\\.0\\.1:${port}`));
    const client = new Redis(port, '127.0.0.1');
    await client.set('kept', 'yes');
    client.disconnect();
    await interrupt(first.proc, first.output);
    assert.ok(existsSync(path.join(dir, 'appendonlydir')), 'the AOF is under .data/');

    const second = await startScript(port);
    running.push(second.proc);
    const again = new Redis(port, '127.0.0.1');
    assert.equal(await again.get('kept'), 'yes');
    again.disconnect();
    await interrupt(second.proc, second.output);
  });

  it('refuses a REDIS_PORT that is not a port, naming it', async () => {
    const proc = spawn('npm', ['run', 'redis'], {
      cwd: root,
      env: { ...process.env, REDIS_PORT: 'six' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await within(
      new Promise<number | null>((resolve) => proc.once('exit', resolve)),
      'exit',
      15_000,
    );
    assert.equal(code, 2);
    assert.match(stderr, /REDIS_PORT must be a port number \(1-65535\), got "six"/);
  });
});
