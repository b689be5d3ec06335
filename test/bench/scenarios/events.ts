import type { ScenarioResult } from '../report-model';
import { eventSystemsWithOption as systemsOfS5 } from '../systems';
import { type BenchContext, measureTable } from './context';
import { measureLatency } from './measure';
import { measureThroughputTable, rampMethod, SERVER_CPU } from './throughput';

/** Scenario 5: our JSON event protocol against socket.io with its Redis adapter. */
export async function events(context: BenchContext): Promise<ScenarioResult[]> {
  const { latency } = context.scale;
  const latencyRows = await measureTable(
    context,
    systemsOfS5,
    2,
    latency.readers.map((readers) => ({
      label: `${readers} reader${readers === 1 ? '' : 's'}`,
      value: readers,
    })),
    (running, readers) => measureLatency(context, running, readers),
  );
  const throughput = await measureThroughputTable(context, systemsOfS5);
  const systems = systemsOfS5.map((s) => s.name);
  return [
    {
      id: 's5a',
      title: 'Room event latency across nodes (JSON protocol vs socket.io)',
      metric: 'latency from send to a member’s receipt (ms)',
      better: 'lower',
      spread: 'p99',
      systems,
      method:
        `One sender on node A sends a room event carrying a timestamp ${latency.rate} times a second for ` +
        `${latency.durationMs / 1000} s; members on node B record the time since it was sent. ` +
        `One writer run per system in each of the ${context.scale.rounds} interleaved rounds; median and p99 ` +
        'over every delivery of a round, then the median over the rounds. swarmcast: a `chat.message` ' +
        '(room scope: offset, history append and PUBLISH in one Lua step); socket.io: ' +
        '`io.to(room).emit` through `@socket.io/redis-adapter`; swarmcast-ephemeral: the option of an ' +
        'app’s room event with `stream: null` (`bench.ping`: no offset, no history, one PUBLISH), in a ' +
        'node that embeds swarmcast (`test/bench/peers/swarmcast-ephemeral.ts`).',
      rows: latencyRows,
      notes: [
        'socket.io keeps no history: a member that misses an event while disconnected never gets it. ' +
          'Neither does swarmcast-ephemeral; the targets are for the default, `chat.message`.',
      ],
    },
    {
      id: 's5b',
      title: 'Maximum delivered room events per second (JSON protocol vs socket.io)',
      metric: 'room events delivered to clients per second',
      better: 'higher',
      spread: 'worst round',
      systems,
      method: rampMethod(context, 'events'),
      rows: throughput.rows,
      notes: ['swarmcast-ephemeral: the option of a room event with `stream: null`, as in S5A.'],
      tables: [throughput.cpu],
      figures: { [SERVER_CPU]: throughput.serverCpu },
    },
  ];
}
