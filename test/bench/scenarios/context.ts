import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Options, Scale } from '../options';
import type { BenchRedis } from '../redis-server';
import type { Cell, Row } from '../report-model';
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
  const start: StartContext = {
    redis: context.redis,
    cpuProfDir: context.options.cpuProfDir,
    embedded: context.options.embedded,
    swarmcastMain: context.options.swarmcastMain,
  };
  const running = await system.start(nodes, start);
  const profiling = context.options.cpuProfDir;
  if (profiling) await context.redis.resetStats();
  try {
    return await body(running);
  } catch (err) {
    logServerOutput(context, running);
    throw err;
  } finally {
    if (profiling) {
      // Redis's side of the profile: which commands the system sent, how many, and their cost.
      const file = path.join(profiling, `${system.name}-${system.protocol}-${Date.now()}.commandstats.txt`);
      writeFileSync(file, await context.redis.commandStats());
    }
    // Clients left open by a failed case would otherwise keep reconnecting to the stopped servers.
    await context.pool.closeAll('*');
    await running.stop();
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
 * Runs every case on every system, each system started once for all its cases: answers the
 * table's cells by case label and system name. A system that fails is logged and left out of
 * the table (its cells stay empty) so that the other systems are still measured.
 */
export async function measureTable<C>(
  context: BenchContext,
  systems: readonly SystemSpec[],
  nodes: number,
  cases: ReadonlyArray<{ label: string; value: C }>,
  measure: (running: RunningSystem, value: C) => Promise<Cell>,
  /** Runs after the last case of a system, before it stops: to close clients held across cases. */
  teardown?: (running: RunningSystem) => Promise<void>,
): Promise<Row[]> {
  const cells = new Map<string, Record<string, Cell>>(cases.map((c) => [c.label, {}]));
  for (const system of systems) {
    if (!selected(context, system)) continue;
    try {
      await withSystem(context, system, nodes, async (running) => {
        try {
          for (const { label, value } of cases) {
            context.log(`${system.name}: ${label}`);
            try {
              cells.get(label)![system.name] = await measure(running, value);
            } catch (err) {
              // One failed case leaves its cell empty; the system's other cases still run.
              logServerOutput(context, running);
              failed(context, system, err, label);
            }
          }
        } finally {
          await teardown?.(running);
        }
      });
    } catch (err) {
      failed(context, system, err);
    }
  }
  return cases.map(({ label }) => ({ label, cells: cells.get(label)! }));
}
