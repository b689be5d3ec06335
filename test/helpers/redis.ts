import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { waitFor, within } from './wait';

/** A free TCP port on 127.0.0.1, as the OS hands it out. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The command line of a private redis-server: AOF on, with the given fsync policy, no RDB. */
export function redisServerArgs(port: number, dir: string, appendfsync: 'always' | 'everysec'): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    appendfsync,
    '--save',
    '',
    '--logfile',
    '',
  ];
}

/** Resolves once the server at `url` answers PING; rejects if `proc` exits first or it takes 12 s. */
export async function untilRedisAnswers(
  url: string,
  proc: ChildProcess,
  output: () => string = () => '',
): Promise<void> {
  const failed = new Promise<never>((_, reject) =>
    proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output()}`))),
  );
  failed.catch(() => {});
  const answers = async () => {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    // A refused connect is expected while the server starts; the loop retries it.
    probe.on('error', () => {});
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  };
  await within(
    Promise.race([failed, waitFor(answers, 'redis-server to answer PING', 10_000)]),
    'redis-server to start',
    12_000,
  );
}

/**
 * A private `redis-server` for one test file: on a free port, in its own directory, with
 * AOF on so that a graceful restart keeps everything (as production is configured).
 * Tests can stop and restart it, which a shared server would not allow.
 */
export class TestRedis {
  private proc: ChildProcess | undefined;
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'swarmcast-redis-'));

  private constructor(readonly port: number) {}

  static async start(): Promise<TestRedis> {
    const redis = new TestRedis(await freePort());
    await redis.launch();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** A command client; the caller quits it. */
  client(): Redis {
    const client = new Redis(this.url, { maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    return client;
  }

  /** Starts the server again after `stop()`, on the same port with the same data. */
  async resume(): Promise<void> {
    await this.launch();
  }

  private async launch(): Promise<void> {
    const proc = spawn('redis-server', redisServerArgs(this.port, this.dir, 'always'), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    const output: string[] = [];
    proc.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    proc.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    await untilRedisAnswers(this.url, proc, () => output.join(''));
  }

  /** A graceful SHUTDOWN (AOF flushed), as an operator's restart does; resolves when the process is gone. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    await within(exited, 'redis-server to stop', 10_000);
    this.proc = undefined;
  }

  /** Stops the server and starts it again on the same port with the same data. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** Stops the server and removes its files. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
