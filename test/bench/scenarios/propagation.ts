import type { ScenarioResult } from '../report-model';
import { yjsSystems } from '../systems';
import { type BenchContext, measureTable } from './context';
import { measureLatency } from './measure';

/** Scenario 1: Yjs update propagation latency across nodes, for growing numbers of readers. */
export async function propagation(context: BenchContext): Promise<ScenarioResult> {
  const { latency } = context.scale;
  const rows = await measureTable(
    context,
    yjsSystems,
    2,
    latency.readers.map((readers) => ({
      label: `${readers} reader${readers === 1 ? '' : 's'}`,
      value: readers,
    })),
    (running, readers) => measureLatency(context, running, readers),
  );
  return {
    id: 's1',
    title: 'Yjs update propagation latency',
    metric: 'latency from the writer’s local change to a reader’s applied update (ms)',
    better: 'lower',
    spread: 'p99',
    systems: yjsSystems.map((s) => s.name),
    method:
      `One writer on node A pushes a timestamp into a Y.Array ${latency.rate} times a second for ` +
      `${latency.durationMs / 1000} s; readers on node B record, for every update their document applies, ` +
      `the time since it was written. One writer run per case and system in each of the ` +
      `${context.scale.rounds} interleaved rounds; median and p99 over every delivery of a round, then ` +
      'the median over the rounds.',
    rows,
    notes: [
      'y-websocket-server cannot share a room between processes: it runs one node, writer and readers on it.',
    ],
  };
}
