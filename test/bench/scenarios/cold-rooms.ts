import Redis from 'ioredis';
import { TestPostgres } from '../../helpers/postgres';
import { waitFor } from '../../helpers/wait';
import { formatBytes } from '../options';
import type { Cell, ScenarioResult } from '../report-model';
import { summarize } from '../stats';
import { type RunningSystem, swarmcast } from '../systems';
import { type BenchContext, failed, freshRoom, withSystem } from './context';

/** Seed documents are written in updates of this size, as an editor's paste or an import would be. */
const SEED_CHUNK = 32 * 1024;
/** The document reopened cold: the 1 MB room. */
const REOPEN_BYTES = 1024 * 1024;
/** The small documents whose rooms go cold, for Redis's memory per cold room. */
const SMALL_BYTES = 4 * 1024;
/**
 * Short enough that a round does not wait long for its room to leave Redis; the evictor
 * sweeps every ROOM_IDLE_MS / 2.
 */
const ROOM_IDLE_MS = 1000;
const EVICTED_WITHIN_MS = 30_000;

/** Whether Redis still holds any key of `room` (or its entry in the index of warm rooms). */
async function inRedis(redis: Redis, room: string): Promise<boolean> {
  const keys = await redis.keys(`*:room:{${room}}*`);
  if (keys.length > 0) return true;
  const indexes = await redis.keys('*:storage:rooms');
  for (const index of indexes) if ((await redis.zscore(index, room)) !== null) return true;
  return false;
}

/** Writes a `bytes` document into a fresh room and closes every client of it. */
async function seedRoom(context: BenchContext, running: RunningSystem, bytes: number): Promise<string> {
  const room = freshRoom('cold');
  const spec = { protocol: running.system.protocol, url: running.url(0), room };
  const seeder = context.pool.worker(0);
  try {
    await seeder.call({ method: 'open', group: `${room}-seed`, clients: [spec], timeoutMs: 30_000 });
    await seeder.call({ method: 'seed', group: `${room}-seed`, index: 0, bytes, chunk: SEED_CHUNK });
    // A reader proves the whole document reached the server before the room is let go.
    await context.pool
      .worker(1)
      .call(
        { method: 'open', group: `${room}-check`, clients: [spec], expectLength: bytes, timeoutMs: 60_000 },
        70_000,
      );
  } finally {
    await context.pool.worker(1).call({ method: 'close', group: `${room}-check` });
    await seeder.call({ method: 'close', group: `${room}-seed` });
  }
  return room;
}

/** One provider opening `room` until it holds the whole document; its time in ms. */
async function joinOnce(context: BenchContext, running: RunningSystem, room: string, tag: string) {
  const group = `${room}-${tag}`;
  const spec = { protocol: running.system.protocol, url: running.url(0), room };
  const [ms] = await context.pool.openSpread(group, [spec], 60_000, REOPEN_BYTES);
  await context.pool.closeAll(group);
  return ms!;
}

/**
 * Scenario 9: what the storage tier saves and costs. Redis's memory per room that went
 * cold (it should be about nothing: the room is in PostgreSQL), and the time to reopen a
 * cold 1 MB room (loaded back from PostgreSQL) next to a warm join of the same room.
 */
export async function coldRooms(context: BenchContext): Promise<ScenarioResult> {
  const quick = context.scale.mode === 'quick';
  const coldCount = quick ? 50 : 200;
  const rounds = quick ? 3 : 7;
  const labels = {
    keys: `Redis keys per cold room (${coldCount} rooms)`,
    memory: `Redis used_memory per cold room (${formatBytes(SMALL_BYTES)} doc, ${coldCount} rooms), KB`,
    warm: `warm join, ${formatBytes(REOPEN_BYTES)} doc in Redis (ms)`,
    cold: `reopen, ${formatBytes(REOPEN_BYTES)} doc loaded from PostgreSQL (ms)`,
  };
  const cells: Record<keyof typeof labels, Cell | undefined> = {
    keys: undefined,
    memory: undefined,
    warm: undefined,
    cold: undefined,
  };
  const perRound: Array<{ warm: number; cold: number }> = [];
  const postgres = await TestPostgres.start();
  const redis = new Redis(context.redis.url, { maxRetriesPerRequest: 1 });
  const system = swarmcast('swarmcast', 'y-websocket', '/yjs', {
    DATABASE_URL: await postgres.database(),
    ROOM_IDLE_MS: String(ROOM_IDLE_MS),
  });
  try {
    await withSystem(context, system, 1, async (running) => {
      const gone = (room: string) =>
        waitFor(async () => !(await inRedis(redis, room)), `room ${room} to leave Redis`, EVICTED_WITHIN_MS);
      // Unmeasured: the first room compiles the code of the load path and fills the pools.
      const warmUp = await seedRoom(context, running, SMALL_BYTES);
      await gone(warmUp);

      context.log(`swarmcast: ${coldCount} rooms going cold`);
      const keysBefore = await redis.dbsize();
      const before = await context.redis.usedMemory();
      const rooms: string[] = [];
      for (let i = 0; i < coldCount; i++) rooms.push(await seedRoom(context, running, SMALL_BYTES));
      for (const room of rooms) await gone(room);
      const after = await context.redis.usedMemory();
      cells.keys = { median: ((await redis.dbsize()) - keysBefore) / coldCount, n: 1 };
      cells.memory = { median: (after - before) / coldCount / 1024, n: 1 };

      context.log(`swarmcast: reopening a cold ${formatBytes(REOPEN_BYTES)} room, ${rounds} rounds`);
      const room = await seedRoom(context, running, REOPEN_BYTES);
      // The first join of the room loads nothing (it is warm): unmeasured, like the warm-up room.
      await joinOnce(context, running, room, 'first');
      for (let round = 0; round < rounds; round++) {
        // Warm and cold alternate, so that the machine's noise falls on both alike.
        const warm = await joinOnce(context, running, room, `warm-${round}`);
        await gone(room);
        const cold = await joinOnce(context, running, room, `cold-${round}`);
        perRound.push({ warm, cold });
      }
      cells.warm = summarize(perRound.map((r) => r.warm));
      cells.cold = summarize(perRound.map((r) => r.cold));
    });
  } catch (err) {
    failed(context, system, err);
  } finally {
    redis.disconnect();
    await postgres.close();
  }
  return {
    id: 's9',
    title: 'Cold rooms (storage tier on)',
    metric: 'Redis memory per cold room (KB); join time (ms)',
    better: 'lower',
    spread: 'p99',
    systems: ['swarmcast'],
    method:
      'One swarmcast node on the run’s Redis with a private PostgreSQL (DATABASE_URL) and ' +
      `ROOM_IDLE_MS=${ROOM_IDLE_MS}. Memory: Redis used_memory before ${coldCount} rooms are written ` +
      `(a ${formatBytes(SMALL_BYTES)} document each, then every client leaves) and once all of them have ` +
      'left Redis (no key and no index entry left), divided by the rooms; used_memory also moves with ' +
      'client buffers and the allocator, so a few hundred bytes either way is noise, and the key count is the exact figure. Reopen: one room with a ' +
      `${formatBytes(REOPEN_BYTES)} document; per round, a provider joins it warm (time until it holds the whole ` +
      'document), leaves, the room is waited out of Redis, and a provider joins it again, which loads it ' +
      `from PostgreSQL. ${rounds} rounds, warm and cold alternating.`,
    rows: (Object.keys(labels) as Array<keyof typeof labels>).map((key) => ({
      label: labels[key],
      cells: cells[key] ? { swarmcast: cells[key] } : {},
      ratio: false,
    })),
    notes: [
      'The peers have no storage tier that evicts rooms from Redis: the scenario measures swarmcast alone ' +
        'against its own targets (under 1 KB per cold room; a reopen at most 2× a warm join).',
    ],
    tables: [
      {
        caption: 'Each round’s warm join and cold reopen of the 1 MB room (ms), in the order they ran.',
        header: ['round', 'warm join', 'cold reopen', 'cold / warm'],
        rows: perRound.map((r, i) => [
          String(i + 1),
          r.warm.toFixed(0),
          r.cold.toFixed(0),
          `${(r.cold / r.warm).toFixed(2)}×`,
        ]),
      },
    ],
  };
}
