import { availableParallelism } from 'node:os';
import { type CpuSplit, meanSplit } from '../cpu';
import type { Cell, ExtraTable, Row, ScenarioResult } from '../report-model';
import { formatNumber } from '../svg-chart';
import { type SystemSpec, yjsSystems } from '../systems';
import { type BenchContext, combineRounds, measureTable } from './context';
import { measureThroughput, type ThroughputShape } from './measure';

/** The two shapes of scenario 2 (and of scenario 5's throughput half). */
export function throughputCases(context: BenchContext): Array<{ label: string; value: ThroughputShape }> {
  const { oneRoom, manyRooms } = context.scale.throughput;
  return [
    {
      label: `1 room × ${oneRoom.clients} clients`,
      value: { rooms: 1, clientsPerRoom: oneRoom.clients, writersPerRoom: oneRoom.clients },
    },
    {
      label: `${manyRooms.rooms} rooms × ${manyRooms.clients} clients`,
      value: { rooms: manyRooms.rooms, clientsPerRoom: manyRooms.clients, writersPerRoom: manyRooms.clients },
    },
  ];
}

export function rampMethod(context: BenchContext, what: string): string {
  const { ramp } = context.scale;
  return (
    'Clients alternate between node A and node B, and every client writes (an equal share of the ' +
    'offered rate), as everyone types in a shared document. Together they offer enough ' +
    `${what} for ${ramp.startDeliveries} deliveries/s, ` +
    `then ×${ramp.factor} per stage of ${ramp.stageMs / 1000} s (at most ${ramp.maxStages} stages; after the ` +
    `first stage that is not sustained, one more at ×1/√${ramp.factor} of it). A stage is ` +
    'sustained when ≥ 99% of the deliveries it should cause (every other client of the room gets every ' +
    'update) arrive within 2 s after it and their median latency is under 100 ms (above that, deliveries ' +
    'queue); the figure is the delivery rate of the last sustained stage (deliveries over the time from the ' +
    `stage's start to its last delivery). One ramp per system in each of the ${context.scale.rounds} ` +
    'interleaved rounds, each on fresh rooms, later ones starting one step below the first ' +
    'one’s knee: median, and the worst round.'
  );
}

/** Where the CPU went at each system's best stage, by case label and system name, one per round. */
type CpuByCase = Map<string, Map<string, Array<CpuSplit | undefined>>>;

/** The name of the figure (ScenarioResult.figures) of server + Redis CPU per 1,000 deliveries. */
export const SERVER_CPU = 'server + Redis CPU per 1,000 deliveries (ms)';

/**
 * The throughput ramp of every case (scenario 2 and 5B): the table of rates, and the table
 * of where the CPU went at each system's best stage.
 */
export async function measureThroughputTable(
  context: BenchContext,
  systems: readonly SystemSpec[],
): Promise<{ rows: Row[]; cpu: ExtraTable; serverCpu: Row[] }> {
  const cpu: CpuByCase = new Map();
  const knees = new Map<string, { value: number }>();
  const cases = throughputCases(context).map(({ label, value }) => ({
    label,
    value: { label, shape: value },
  }));
  const rows = await measureTable(context, systems, 2, cases, (running, { label, shape }, round) => {
    const key = `${running.system.name}\n${label}`;
    if (!knees.has(key)) knees.set(key, { value: 0 });
    return measureThroughput(context, running, shape, {
      knee: knees.get(key),
      onCpu: (split) => {
        if (!cpu.has(label)) cpu.set(label, new Map());
        const bySystem = cpu.get(label)!;
        if (!bySystem.has(running.system.name)) bySystem.set(running.system.name, []);
        bySystem.get(running.system.name)![round] = split;
      },
    });
  });
  const serverCpu: Row[] = [...cpu].map(([label, bySystem]) => {
    const cells: Record<string, Cell | undefined> = {};
    for (const [name, splits] of bySystem) {
      cells[name] = combineRounds(
        Array.from({ length: context.scale.rounds }, (_, round) => {
          const split = splits[round];
          return split ? { median: split.servers + split.redis, n: 1 } : undefined;
        }),
      );
    }
    return { label, cells };
  });
  return { rows, cpu: cpuTable(systems, cpu), serverCpu };
}

/**
 * The CPU the load generator, the server nodes and Redis spent per 1,000 deliveries in the
 * best stage of each round: what a delivery costs each part, whatever capped the rate.
 */
function cpuTable(systems: readonly SystemSpec[], cpu: CpuByCase): ExtraTable {
  const [ours, ...peers] = systems.map((s) => s.name);
  const cores = availableParallelism();
  const rows: string[][] = [];
  for (const [label, perRound] of cpu) {
    const bySystem = new Map(
      [...perRound].map(([name, splits]) => [
        name,
        meanSplit(splits.filter((split): split is CpuSplit => split !== undefined)),
      ]),
    );
    const server = (name: string) => {
      const split = bySystem.get(name);
      return split ? split.servers + split.redis : Number.NaN;
    };
    for (const name of systems.map((s) => s.name)) {
      const split = bySystem.get(name);
      if (!split) continue;
      const ratios = peers.map((peer) => {
        const value = server(peer) / server(ours!);
        return name === ours && Number.isFinite(value) ? `${value.toFixed(2)}×` : '—';
      });
      rows.push([
        label,
        name,
        formatNumber(split.clients),
        formatNumber(split.servers),
        formatNumber(split.redis),
        formatNumber(split.servers + split.redis),
        formatNumber((cores * 1_000_000) / split.clients),
        ...ratios,
      ]);
    }
  }
  return {
    caption:
      'Where the CPU went: CPU time (user + system, from `/proc`) per 1,000 deliveries in the best ' +
      'stage of each round, averaged over the rounds, for the client processes, the server nodes and ' +
      'Redis. "Clients’ ceiling" is the delivery rate at which the clients alone would use all ' +
      `${cores} cores of this machine. The last columns say how many times less server and Redis CPU ` +
      `a delivery costs on ${ours} (above 1: ${ours} cheaper).`,
    header: [
      'case',
      'system',
      'clients (ms)',
      'server nodes (ms)',
      'Redis (ms)',
      'servers + Redis (ms)',
      'clients’ ceiling (deliveries/s)',
      ...peers.map((peer) => `${ours} vs ${peer}`),
    ],
    rows,
  };
}

/** Scenario 2: the highest Yjs update rate a system delivers without falling behind. */
export async function throughput(context: BenchContext): Promise<ScenarioResult> {
  const { rows, cpu, serverCpu } = await measureThroughputTable(context, yjsSystems);
  return {
    id: 's2',
    title: 'Maximum sustained Yjs update throughput',
    metric: 'updates delivered to clients per second',
    better: 'higher',
    spread: 'worst round',
    systems: yjsSystems.map((s) => s.name),
    method: rampMethod(context, 'updates'),
    rows,
    notes: [
      'The load generator runs on the same 2 cores as the servers: applying every update in every client ' +
        'document costs the clients CPU too, which caps every system alike and compresses the ratios.',
      'y-websocket-server runs one node: all clients on it.',
    ],
    tables: [cpu],
    figures: { [SERVER_CPU]: serverCpu },
  };
}
