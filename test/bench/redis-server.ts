import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { freePort, redisServerArgs, untilRedisAnswers } from '../helpers/redis';
import { spawnRegistered, stopProcess } from './processes';

/**
 * The private redis-server of one bench run. Unlike the tests' TestRedis (fsync on every
 * write, so that a restart provably keeps everything) it runs with `appendfsync everysec`,
 * Redis's recommended production setting: fsync-always would bill our Lua appends a disk
 * flush each while the peers' PUBLISH-only traffic never touches the AOF.
 */
export class BenchRedis {
  private constructor(
    readonly port: number,
    private readonly proc: ReturnType<typeof spawnRegistered>,
    private readonly dir: string,
  ) {}

  static async start(): Promise<BenchRedis> {
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'swarmcast-bench-redis-'));
    const proc = spawnRegistered('redis-server', redisServerArgs(port, dir, 'everysec'));
    const redis = new BenchRedis(port, proc, dir);
    await untilRedisAnswers(redis.url, proc);
    return redis;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  private async command<T>(run: (client: Redis) => Promise<T>): Promise<T> {
    const client = new Redis(this.url, { maxRetriesPerRequest: 1 });
    try {
      return await run(client);
    } finally {
      client.disconnect();
    }
  }

  /** Empties Redis between systems, so that no system pays for another's keys. */
  flush(): Promise<void> {
    return this.command(async (client) => {
      await client.flushall();
    });
  }

  /** `used_memory` from INFO: what a system's state costs in Redis. */
  usedMemory(): Promise<number> {
    return this.command(async (client) => {
      const info = await client.info('memory');
      const match = /used_memory:(\d+)/.exec(info);
      return match ? Number(match[1]) : Number.NaN;
    });
  }

  /** Zeroes Redis's per-command counters (CONFIG RESETSTAT). */
  resetStats(): Promise<void> {
    return this.command(async (client) => {
      await client.config('RESETSTAT');
    });
  }

  /** Per-command calls and microseconds since the last reset (INFO commandstats), for profiling. */
  commandStats(): Promise<string> {
    return this.command((client) => client.info('commandstats'));
  }

  async version(): Promise<string> {
    return this.command(async (client) => {
      const info = await client.info('server');
      return /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
    });
  }

  async close(): Promise<void> {
    await stopProcess(this.proc, 5000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
