import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '../../helpers/wait';
import { formatBytes } from '../options';
import type { MemorySample } from '../processes';
import type { Cell, Row, ScenarioResult } from '../report-model';
import { type RunningSystem, type SystemSpec, swarmcastYjsNoCache, yjsSystems } from '../systems';
import { type BenchContext, combineRounds, freshRoom, interleaved, withSystem } from './context';

const SEED_CHUNK = 32 * 1024;

/** Time for a server to drop what closed clients held before its memory is read again. */
const SETTLE_MS = 1500;

interface Footprint {
  readonly rss: number;
  readonly heap: number;
  readonly redis: number;
}

/**
 * The server's memory after a full GC (RSS, and JS heap with buffers) and Redis's used_memory;
 * with `--heap-snapshots`, a heap snapshot of each node named after `label`.
 */
async function footprint(context: BenchContext, running: RunningSystem, label: string): Promise<Footprint> {
  const samples: MemorySample[] = await Promise.all(running.nodes.map((node) => node.memory()));
  const dir = context.options.heapSnapshotDir;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    for (const node of running.nodes) {
      await node.heapSnapshot(path.join(dir, `${node.name}-${label}.heapsnapshot`));
      // Writing a snapshot stalls the server for seconds: its Redis client may have given up meanwhile.
      await waitFor(() => node.ready(), `${node.name} to be ready after a heap snapshot`, 30_000);
    }
  }
  const sum = (pick: (m: MemorySample) => number) => samples.reduce((total, m) => total + pick(m), 0);
  return {
    rss: sum((m) => m.rss),
    // arrayBuffers is part of external: heapUsed + external counts every byte JS holds.
    heap: sum((m) => m.heapUsed + m.external),
    redis: await context.redis.usedMemory(),
  };
}

function perUnit(before: Footprint, after: Footprint, units: number) {
  const kb = (bytes: number): Cell => ({ median: bytes / units / 1024, n: 1 });
  return {
    rss: kb(after.rss - before.rss),
    heap: kb(after.heap - before.heap),
    redis: kb(after.redis - before.redis),
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

/**
 * Clients per room for the idle connections: enough to spread a room's own cost thin, few
 * enough that awareness (every client's state goes to every other client of its room) stays
 * small, as in a document with a handful of people in it.
 */
const IDLE_PER_ROOM = 10;

/**
 * Idle connections, in empty rooms of IDLE_PER_ROOM: what `count` more cost a server that
 * already holds `count`. The first `count` are not measured: what the first connections
 * cost a process once (the code they compile, and the young generation of V8's heap,
 * 16-32 MiB, made resident by the garbage they leave) is not a cost of each connection,
 * and divided by 1,000 it came to 15-25 KB "per connection" for every system.
 */
async function idleConnections(context: BenchContext, system: SystemSpec) {
  const count = context.scale.memory.idleConnections;
  return withSystem(context, system, 1, async (running) => {
    await settle();
    const room = freshRoom('idle');
    const clients = (part: string) =>
      Array.from({ length: count }, (_, i) => ({
        protocol: system.protocol,
        url: running.url(0),
        room: `${room}-${part}-${Math.floor(i / IDLE_PER_ROOM)}`,
      }));
    try {
      await context.pool.openSpread(`${room}-base`, clients('base'), 120_000);
      await settle();
      const before = await footprint(context, running, 'idle-before');
      await context.pool.openSpread(`${room}-idle`, clients('idle'), 120_000);
      await settle();
      const after = await footprint(context, running, 'idle-after');
      return perUnit(before, after, count);
    } finally {
      await context.pool.closeAll(`${room}-idle`);
      await context.pool.closeAll(`${room}-base`);
    }
  });
}

/** Opens `count` rooms, each seeded by a client that stays and synced by one more; answers their groups. */
async function fillRooms(
  context: BenchContext,
  running: RunningSystem,
  count: number,
  groups: Array<{ worker: number; group: string }>,
): Promise<void> {
  const { pool } = context;
  const { roomBytes } = context.scale.memory;
  for (let i = 0; i < count; i++) {
    const room = freshRoom('memory');
    const spec = { protocol: running.system.protocol, url: running.url(0), room };
    const seeder = pool.worker(i);
    const reader = pool.worker(i + 1);
    groups.push({ worker: i, group: `${room}-seed` });
    await seeder.call({ method: 'open', group: `${room}-seed`, clients: [spec], timeoutMs: 30_000 });
    await seeder.call({
      method: 'seed',
      group: `${room}-seed`,
      index: 0,
      bytes: roomBytes,
      chunk: SEED_CHUNK,
    });
    groups.push({ worker: i + 1, group: `${room}-read` });
    await reader.call(
      { method: 'open', group: `${room}-read`, clients: [spec], expectLength: roomBytes, timeoutMs: 60_000 },
      70_000,
    );
  }
}

async function closeGroups(context: BenchContext, groups: Array<{ worker: number; group: string }>) {
  for (const { worker, group } of groups.splice(0)) {
    await context.pool.worker(worker).call({ method: 'close', group });
  }
}

/**
 * Rooms with a seeded document, each with its seeding client and one more client synced.
 * One room is opened and closed first, unmeasured: what the first room costs once per process
 * (compiled code, buffer pools sized for a large reply) is not a cost of each room.
 */
async function openRooms(context: BenchContext, system: SystemSpec) {
  const { rooms } = context.scale.memory;
  return withSystem(context, system, 1, async (running) => {
    const groups: Array<{ worker: number; group: string }> = [];
    try {
      await fillRooms(context, running, 1, groups);
      await closeGroups(context, groups);
      await settle();
      const before = await footprint(context, running, 'rooms-before');
      await fillRooms(context, running, rooms, groups);
      await settle();
      const after = await footprint(context, running, 'rooms-after');
      return perUnit(before, after, rooms);
    } finally {
      await closeGroups(context, groups);
    }
  });
}

/** Scenario 4: what an idle connection and an open room with a synced document cost a server. */
export async function memory(context: BenchContext): Promise<ScenarioResult> {
  const { memory: scale } = context.scale;
  const size = formatBytes(scale.roomBytes);
  const labels = {
    idleRss: `per idle connection (rooms of ${IDLE_PER_ROOM}), RSS`,
    idleHeap: `per idle connection (rooms of ${IDLE_PER_ROOM}), JS heap + external`,
    roomRss: `per open room (${size} doc), RSS`,
    roomHeap: `per open room (${size} doc), JS heap + external`,
    roomRedis: `per open room (${size} doc), Redis used_memory`,
    roomHeapNoCache: `per open room (${size} doc), JS heap + external, swarmcast with YJS_CACHE_BYTES=0`,
  };
  type Key = keyof typeof labels;
  const perRound: Record<Key, Map<string, Array<Cell | undefined>>> = {
    idleRss: new Map(),
    idleHeap: new Map(),
    roomRss: new Map(),
    roomHeap: new Map(),
    roomRedis: new Map(),
    roomHeapNoCache: new Map(),
  };
  const keep = (key: Key, system: string, round: number, cell: Cell) => {
    const rounds = perRound[key].get(system) ?? Array.from({ length: scale.rounds }, () => undefined);
    rounds[round] = cell;
    perRound[key].set(system, rounds);
  };
  // The cache-off variant of swarmcast runs as one more system of the rounds, open rooms only.
  await interleaved(
    context,
    [...yjsSystems, swarmcastYjsNoCache],
    async (system, round) => {
      if (system === swarmcastYjsNoCache) {
        context.log('swarmcast with YJS_CACHE_BYTES=0: open rooms');
        keep('roomHeapNoCache', 'swarmcast', round, (await openRooms(context, system)).heap);
        return;
      }
      context.log(`${system.name}: idle connections`);
      const idle = await idleConnections(context, system);
      keep('idleRss', system.name, round, idle.rss);
      keep('idleHeap', system.name, round, idle.heap);
      context.log(`${system.name}: open rooms`);
      const room = await openRooms(context, system);
      keep('roomRss', system.name, round, room.rss);
      keep('roomHeap', system.name, round, room.heap);
      keep('roomRedis', system.name, round, room.redis);
      // The peers have no such cache: their figure is the one measured with it.
      if (system !== yjsSystems[0]) keep('roomHeapNoCache', system.name, round, room.heap);
    },
    scale.rounds,
  );
  const cells = (key: Key): Record<string, Cell | undefined> =>
    Object.fromEntries([...perRound[key]].map(([system, rounds]) => [system, combineRounds(rounds)]));
  const rows: Row[] = (Object.keys(labels) as Array<keyof typeof labels>).map((key) => ({
    label: labels[key],
    cells: cells(key),
    ratio: key !== 'roomRedis',
  }));
  return {
    id: 's4',
    title: 'Server memory',
    metric: 'memory per connection or per room (KB)',
    better: 'lower',
    spread: 'p99',
    systems: yjsSystems.map((s) => s.name),
    method:
      'One node per system, started fresh for each half. Memory is read in the server process after two ' +
      'full GCs (a preloaded hook, `--expose-gc`): RSS, and JS heap used plus external (Buffers, ' +
      'ArrayBuffers). What the first connections and rooms cost a process once (compiled code, buffer ' +
      'pools, the young generation of the JS heap made resident) is not counted per unit: idle ' +
      `connections: ${scale.idleConnections} providers join empty rooms, ${IDLE_PER_ROOM} a room, unmeasured; ` +
      `then ${scale.idleConnections} more, and the difference between the two readings is divided by ` +
      `${scale.idleConnections}. Open rooms: one room is opened and closed first; then ${scale.rooms} rooms, each ` +
      `with a ${size} document written by a client that stays connected and one more client that ` +
      `synced it; the difference divided by ${scale.rooms}. One measurement per system and round ` +
      `(${scale.rounds} interleaved round${scale.rounds === 1 ? '' : 's'}, fewer than the other scenarios' in ` +
      'a quick run: memory does not move with the machine’s load as times do); the p99 column is empty.',
    rows,
    notes: [
      'swarmcast can keep the merged documents of the rooms it serves in a cache (`YJS_CACHE_BYTES`, ' +
        'off by default); the last row measures it off explicitly, as the default is.',
      'The Redis row is where swarmcast keeps documents (its nodes keep none between messages); the ' +
        'peers here keep theirs in the node’s memory, so their Redis row is about zero.',
      'RSS rarely shrinks after a GC and moves in allocator-sized steps; the heap row is the steadier figure.',
    ],
  };
}
