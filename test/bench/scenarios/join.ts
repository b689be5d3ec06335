import { formatBytes } from '../options';
import type { ScenarioResult } from '../report-model';
import { summarize } from '../stats';
import { type RunningSystem, yjsSystems } from '../systems';
import { type BenchContext, freshRoom, measureTable } from './context';

/** Seed documents are written in updates of this size, as an editor's paste or an import would be. */
const SEED_CHUNK = 32 * 1024;

/** Scenario 3: time for new clients to get a whole document of 10 KB to 10 MB. */
export async function joins(context: BenchContext): Promise<ScenarioResult> {
  const { join } = context.scale;
  const { pool } = context;
  const cases = join.sizes.flatMap((bytes) =>
    join.joiners.map((joiners) => ({
      label: `${formatBytes(bytes)} doc, ${joiners} joining at once`,
      value: { bytes, joiners },
    })),
  );
  // One seeded room per system and document size; the seeder stays connected, because the peers
  // without a database keep a document only while a client has it open.
  const seeded = new Map<RunningSystem, Map<number, string>>();
  const seededRoom = async (running: RunningSystem, bytes: number): Promise<string> => {
    const rooms = seeded.get(running) ?? new Map<number, string>();
    seeded.set(running, rooms);
    const found = rooms.get(bytes);
    if (found) return found;
    // (A failed seeding fails the system's whole table: measureTable drops it.)
    const room = freshRoom('join');
    const spec = (node: number) => ({ protocol: running.system.protocol, url: running.url(node), room });
    const seeder = pool.worker(0);
    // Registered before it can fail, so that the teardown closes it whatever happens.
    rooms.set(bytes, room);
    await seeder.call({ method: 'open', group: `${room}-seed`, clients: [spec(0)], timeoutMs: 30_000 });
    await seeder.call({ method: 'seed', group: `${room}-seed`, index: 0, bytes, chunk: SEED_CHUNK });
    // A first reader on the other node proves the whole document is there before anything is timed.
    await pool.worker(1).call(
      {
        method: 'open',
        group: `${room}-check`,
        clients: [spec(1)],
        expectLength: bytes,
        timeoutMs: 120_000,
      },
      130_000,
    );
    await pool.worker(1).call({ method: 'close', group: `${room}-check` });
    return room;
  };
  const rows = await measureTable(
    context,
    yjsSystems,
    2,
    cases,
    async (running, { bytes, joiners }) => {
      const room = await seededRoom(running, bytes);
      const clients = Array.from({ length: joiners }, () => ({
        protocol: running.system.protocol,
        url: running.url(1),
        room,
      }));
      // A lone joiner joins several times, each after the last has left: one sample would be the machine's.
      const times: number[] = [];
      for (let i = 0; i < (joiners === 1 ? join.repeats : 1); i++) {
        const group = `${room}-join-${joiners}-${i}`;
        times.push(...(await pool.openSpread(group, clients, 180_000, bytes)));
        await pool.closeAll(group);
      }
      return summarize(times);
    },
    async (running) => {
      for (const room of seeded.get(running)?.values() ?? []) {
        await pool.worker(0).call({ method: 'close', group: `${room}-seed` });
      }
    },
  );
  return {
    id: 's3',
    title: 'Join time',
    metric: 'time from opening the provider to holding the whole document (ms)',
    better: 'lower',
    spread: 'p99',
    systems: yjsSystems.map((s) => s.name),
    method:
      `A seeding client on node A writes a document of the given size (a Y.Text, in ${SEED_CHUNK / 1024} KB ` +
      'updates) and stays connected. New clients then open a provider on node B, all at once, and the clock ' +
      'stops when a client’s document holds the whole text (not at the provider’s first `synced`, which ' +
      `on a node that is still fetching the document from another node can come early). In each of the ` +
      `${context.scale.rounds} interleaved rounds fresh clients join once per case (the seeded rooms stay from ` +
      `the first), a lone joiner ${join.repeats} times, each once the one before has left; median and p99 over ` +
      'the joins of a round, then the median over the rounds.',
    rows,
    notes: [
      'Clients apply the document in the worker processes: with many joiners the time includes waiting for ' +
        'their own process’s CPU, for every system alike.',
    ],
  };
}
