import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Options, Scale } from '../options';
import type { BenchRedis } from '../redis-server';
import type { Cell, Row } from '../report-model';
import { median } from '../stats';
import type { RunningSystem, StartContext, SystemSpec } from '../systems';
import type { ClientPool } from '../workers';

/** What every scenario runs with. */
export interface BenchContext {
  readonly options: Options;
  readonly scale: Scale;
  readonly redis: BenchRedis;
  readonly pool: ClientPool;
  /** Systems that failed a scenario: the report is still written, and the run exits non-zero. */
  readonly failures: string[];
  log(message: string): void;
  /** Records something a reader of the report should know (a peer misbehaving, a retried case). */
  incident(message: string): void;
}

/** Logs and records a system's failure in a scenario. */
export function failed(context: BenchContext, system: SystemSpec, err: unknown, label?: string): void {
  const what = `${system.name} (${system.protocol})${label ? `, ${label}` : ''}`;
  const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
  context.failures.push(`${what}: ${reason}`);
  context.incident(`${what} failed: ${reason}`);
}

let roomCounter = 0;

/** A room name no earlier case of the run used, so that no case sees another's state. */
export function freshRoom(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${++roomCounter}`;
}

/** Starts `system` with `nodes` nodes, runs `body`, and stops the system whatever happens. */
export async function withSystem<T>(
  context: BenchContext,
  system: SystemSpec,
  nodes: number,
  body: (running: RunningSystem) => Promise<T>,
): Promise<T> {
  const running = await system.start(nodes, startContext(context));
  try {
    return await profiled(context, running, () => body(running));
  } catch (err) {
    logServerOutput(context, running);
    throw err;
  } finally {
    // Clients left open by a failed case would otherwise keep reconnecting to the stopped servers.
    await context.pool.closeAll('*');
    await running.stop();
  }
}

function startContext(context: BenchContext, keepRedis = false): StartContext {
  return {
    redis: context.redis,
    cpuProfDir: context.options.cpuProfDir,
    embedded: context.options.embedded,
    swarmcastMain: context.options.swarmcastMain,
    keepRedis,
  };
}

/** With `--cpu-prof`, Redis's side of the profile of `body`: which commands it sent, how many, their cost. */
async function profiled<T>(
  context: BenchContext,
  running: RunningSystem,
  body: () => Promise<T>,
): Promise<T> {
  const profiling = context.options.cpuProfDir;
  if (profiling) await context.redis.resetStats();
  try {
    return await body();
  } finally {
    if (profiling) {
      const { system } = running;
      const file = path.join(profiling, `${system.name}-${system.protocol}-${Date.now()}.commandstats.txt`);
      writeFileSync(file, await context.redis.commandStats());
    }
  }
}

/** What the servers said last: usually why a case failed. */
function logServerOutput(context: BenchContext, running: RunningSystem): void {
  for (const node of running.nodes) {
    const tail = node.output.join('').trim().split('\n').slice(-10).join('\n    ');
    if (tail) context.log(`  ${node.name} said:\n    ${tail}`);
  }
}

/** Whether `--systems` (when given) includes `system`. */
export function selected(context: BenchContext, system: SystemSpec): boolean {
  return context.options.systems.length === 0 || context.options.systems.includes(system.name);
}

/**
 * The order of the systems in `round`: as given in even rounds, reversed in odd ones
 * (ABC, CBA, ABC, …), so that a drift of the machine's load over the run (another process
 * starting, a core warming up) falls on every system alike, and each pair of systems is
 * measured side by side in every round.
 */
export function roundOrder<T>(systems: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...systems] : [...systems].reverse();
}

/**
 * Runs `body` for every selected system in each of `rounds` rounds (the run's by default), the
 * systems interleaved round by round (see roundOrder); answers each system's results in round
 * order. A system whose round fails is logged and gets no result for that round; its other
 * rounds still run.
 */
export async function interleaved<T>(
  context: BenchContext,
  systems: readonly SystemSpec[],
  body: (system: SystemSpec, round: number) => Promise<T>,
  rounds = context.scale.rounds,
): Promise<Map<SystemSpec, Array<T | undefined>>> {
  const results = new Map<SystemSpec, Array<T | undefined>>();
  const chosen = systems.filter((system) => selected(context, system));
  for (const system of chosen) {
    results.set(
      system,
      Array.from({ length: rounds }, () => undefined),
    );
  }
  for (let round = 0; round < rounds; round++) {
    for (const system of roundOrder(chosen, round)) {
      context.log(`round ${round + 1}/${rounds}: ${system.name}`);
      try {
        results.get(system)![round] = await body(system, round);
      } catch (err) {
        failed(context, system, err, `round ${round + 1}`);
      }
    }
  }
  return results;
}

/**
 * One cell from the same figure of several rounds: the median of the rounds' medians and of
 * their p99s, every round kept for the spread. Rounds that failed are left out.
 */
export function combineRounds(rounds: ReadonlyArray<Cell | undefined>): Cell | undefined {
  const measured = rounds.filter((cell): cell is Cell => cell !== undefined && Number.isFinite(cell.median));
  if (measured.length === 0) return undefined;
  const p99s = measured.map((cell) => cell.p99).filter((p99): p99 is number => p99 !== undefined);
  return {
    median: median(measured.map((cell) => cell.median)),
    p99: p99s.length > 0 ? median(p99s) : undefined,
    n: measured.reduce((sum, cell) => sum + cell.n, 0),
    // Failed rounds stay as holes so that round i still pairs with the peers' round i.
    rounds: rounds.map((cell) => cell ?? { median: Number.NaN, n: 0 }),
  };
}

/**
 * Runs every case on every system in interleaved rounds (see `interleaved`): every system is
 * started once for the table (all of them on the one Redis, flushed once before the first:
 * an idle system costs next to nothing, and restarting each per round would cost more than a
 * round on a loaded machine), and in each round each system measures every case once, on
 * fresh rooms. `measure` answers one round's figure of one case; the table's cells combine the
 * rounds (see combineRounds). A case that fails leaves that round's figure empty; a system that
 * fails to start is left out of the table.
 */
export async function measureTable<C>(
  context: BenchContext,
  systems: readonly SystemSpec[],
  nodes: number,
  cases: ReadonlyArray<{ label: string; value: C }>,
  measure: (running: RunningSystem, value: C, round: number) => Promise<Cell>,
  /** Runs after the last round, before the systems stop: to close clients held across cases and rounds. */
  teardown?: (running: RunningSystem) => Promise<void>,
): Promise<Row[]> {
  const started = new Map<SystemSpec, RunningSystem>();
  let byRound: Map<SystemSpec, Array<Map<string, Cell> | undefined>>;
  try {
    await context.redis.flush();
    for (const system of systems.filter((s) => selected(context, s))) {
      try {
        started.set(system, await system.start(nodes, startContext(context, true)));
      } catch (err) {
        failed(context, system, err);
      }
    }
    byRound = await interleaved(context, [...started.keys()], async (system, round) => {
      const running = started.get(system)!;
      const cells = new Map<string, Cell>();
      await profiled(context, running, async () => {
        for (const { label, value } of cases) {
          context.log(`${system.name}: ${label}`);
          try {
            cells.set(label, await measure(running, value, round));
          } catch (err) {
            // One failed case leaves its figure empty; the system's other cases still run.
            logServerOutput(context, running);
            failed(context, system, err, `${label}, round ${round + 1}`);
          }
        }
      });
      return cells;
    });
    for (const running of started.values()) {
      await teardown?.(running).catch((err: unknown) => failed(context, running.system, err, 'teardown'));
    }
  } finally {
    // Clients left open by a failed case would otherwise keep reconnecting to the stopped servers.
    await context.pool.closeAll('*');
    await Promise.all([...started.values()].map((running) => running.stop()));
  }
  return cases.map(({ label }) => {
    const cells: Record<string, Cell | undefined> = {};
    for (const [system, rounds] of byRound) {
      cells[system.name] = combineRounds(rounds.map((round) => round?.get(label)));
    }
    return { label, cells };
  });
}
