import type { ScenarioResult } from '../report-model';
import { yjsSystems } from '../systems';
import { type BenchContext, measureTable } from './context';
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
    `stage's start to its last delivery). ${ramp.rounds} round(s), each on fresh rooms, later ones starting ` +
    'one step below the first one’s knee: median, and the worst round.'
  );
}

/** Scenario 2: the highest Yjs update rate a system delivers without falling behind. */
export async function throughput(context: BenchContext): Promise<ScenarioResult> {
  const rows = await measureTable(context, yjsSystems, 2, throughputCases(context), (running, shape) =>
    measureThroughput(context, running, shape),
  );
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
  };
}
