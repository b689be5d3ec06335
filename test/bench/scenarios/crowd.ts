import type { ClientSpec } from '../client/clients';
import type { MemorySample } from '../processes';
import type { Cell, ExtraTable, Row, ScenarioResult } from '../report-model';
import { median, summarize } from '../stats';
import { formatNumber } from '../svg-chart';
import { eventSystems, type RunningSystem } from '../systems';
import { type BenchContext, combineRounds, freshRoom, measureTable } from './context';
import { settle } from './measure';

/** Every room's sender sends this many events a second: the scenario's "one event per room per second". */
const EVENTS_PER_ROOM_PER_SECOND = 1;
/** How long deliveries may trail the last send and still count as on time. */
const GRACE_MS = 5000;
/**
 * After the grace period the bench keeps counting, while deliveries still come in (none for
 * QUIET_MS ends it) and for at most LATE_MS: what arrives then was late, what never does is
 * missing. A machine too loaded to keep up shows as late deliveries, a lost one as missing.
 */
const LATE_MS = 60_000;
const QUIET_MS = 3000;
/** The burst: how long every connection gets to open and join (10,000 at once on 2 shared cores). */
const JOIN_TIMEOUT_MS = 180_000;
/**
 * Connections each worker keeps opening at once, per group (two groups, two workers: 512 in
 * all, about one node's accept backlog, Node's default of 511). With all 10,000 at once the
 * kernel's queue of half-open connections overflows and resets them: what a crowd of real
 * clients would retry, and ours do not.
 */
const JOIN_IN_FLIGHT = 128;

/** The figure names (ScenarioResult.figures) the targets read. */
export const MISSING = 'deliveries missing';
export const PER_CONNECTION = 'memory per connection (KB)';

interface CrowdRound {
  readonly latency: Cell;
  readonly join: Cell;
  /** From the first connection opened to the last one joined. */
  readonly burstMs: number;
  readonly expected: number;
  /** Within GRACE_MS of the last send. */
  readonly onTime: number;
  /** Within LATE_MS, or until deliveries stopped coming. */
  readonly received: number;
  /** KB per connection on each node: RSS, and JS heap + external. */
  readonly perConnection: ReadonlyArray<{ rss: number; heap: number }>;
}

/** Waits while `group`'s deliveries still grow (bounded, see LATE_MS); answers its stats then. */
async function drain(context: BenchContext, group: string, expected: number) {
  const deadline = Date.now() + LATE_MS;
  let last = -1;
  let changed = Date.now();
  for (;;) {
    const stats = await context.pool.statsAll(group);
    if (stats.delivered !== last) changed = Date.now();
    last = stats.delivered;
    if (stats.delivered >= expected || Date.now() > deadline || Date.now() - changed > QUIET_MS) return stats;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const memoryOf = (running: RunningSystem) => Promise.all(running.nodes.map((node) => node.memory()));

/**
 * One round of one system: `connections` clients of `rooms` rooms open at once, spread evenly
 * over the two nodes (the clients of a room alternate between them, so half a room's members
 * are on the other node than its sender); then each room's sender sends one event a second.
 */
async function crowdRound(context: BenchContext, running: RunningSystem): Promise<CrowdRound> {
  const { pool } = context;
  const { connections, rooms, warmUpMs, durationMs } = context.scale.crowd;
  const perRoom = connections / rooms;
  const base = freshRoom('crowd');
  const spec = (node: number, room: string): ClientSpec => ({
    protocol: running.system.protocol,
    url: running.url(node),
    room,
  });
  // Unmeasured: the first connections compile the code every later one runs.
  const warmUp = Array.from({ length: 20 }, (_, i) => spec(i, `${base}-warm-up`));
  await pool.openSpread(`${base}-warm-up`, warmUp, 30_000);
  await pool.closeAll(`${base}-warm-up`);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const before = await memoryOf(running);

  const senders: ClientSpec[] = [];
  const members: ClientSpec[] = [];
  for (let r = 0; r < rooms; r++) {
    for (let c = 0; c < perRoom; c++) (c === 0 ? senders : members).push(spec(r + c, `${base}-${r}`));
  }
  const senderGroup = `${base}-s`;
  const memberGroup = `${base}-m`;
  try {
    // The burst of joins: every connection at once, senders and members alike.
    const burstStart = performance.now();
    const [senderJoins, memberJoins] = await Promise.all([
      pool.openSpread(senderGroup, senders, JOIN_TIMEOUT_MS, undefined, JOIN_IN_FLIGHT),
      pool.openSpread(memberGroup, members, JOIN_TIMEOUT_MS, undefined, JOIN_IN_FLIGHT),
    ]);
    const burstMs = performance.now() - burstStart;
    const join = summarize([...senderJoins, ...memberJoins]);
    context.log(
      `  ${running.system.name}: ${connections} joined in ${(burstMs / 1000).toFixed(1)} s, ` +
        `median ${join.median.toFixed(0)} ms, p99 ${join.p99.toFixed(0)} ms`,
    );
    /** Every sender sends one event a second for `ms`, each worker for the senders it holds. */
    const send = async (ms: number) => {
      const answers = await Promise.all(
        pool.workers.map((worker, i) => {
          const mine = senders.filter((_, j) => j % pool.workers.length === i).length;
          if (mine === 0) return { sent: 0, elapsedMs: 0 };
          return worker.call(
            {
              method: 'write',
              group: senderGroup,
              writers: mine,
              rate: mine * EVENTS_PER_ROOM_PER_SECOND,
              durationMs: ms,
            },
            ms + 60_000,
          );
        }),
      );
      return answers.reduce((sum, a) => sum + a.sent, 0);
    };
    const warmUpSent = await send(warmUpMs);
    // The warm-up's backlog, if any, drains before the measured window.
    await drain(context, memberGroup, warmUpSent * (perRoom - 1));
    await pool.resetAll(memberGroup);
    const sent = await send(durationMs);
    const expected = sent * (perRoom - 1);
    const onTime = (await settle(context, memberGroup, expected, GRACE_MS)).delivered;
    const stats = await drain(context, memberGroup, expected);
    const after = await memoryOf(running);
    const onEach = connections / running.nodes.length;
    const perConnection = running.nodes.map((_, i) => {
      const kb = (pick: (m: MemorySample) => number) => (pick(after[i]!) - pick(before[i]!)) / onEach / 1024;
      return { rss: kb((m) => m.rss), heap: kb((m) => m.heapUsed + m.external) };
    });
    context.log(
      `  ${running.system.name}: ${onTime} of ${expected} deliveries within ${GRACE_MS / 1000} s, ` +
        `${stats.delivered} in all, ` +
        `p99 ${summarize(stats.latencies).p99.toFixed(1)} ms`,
    );
    return {
      latency: summarize(stats.latencies),
      join,
      burstMs,
      expected,
      onTime,
      received: stats.delivered,
      perConnection,
    };
  } finally {
    await Promise.all([pool.closeAll(senderGroup), pool.closeAll(memberGroup)]);
  }
}

/**
 * Scenario 6, scale: 10,000 `/events` connections over two nodes (5,000 each) in 1,000 rooms,
 * all joining at once, then one event per room per second: delivery latency, join time, what a
 * connection costs each node, and that every delivery arrives; socket.io with its Redis adapter
 * beside it. The client processes and their file-descriptor limit are the bench's own.
 */
export async function crowd(context: BenchContext): Promise<ScenarioResult> {
  const { connections, rooms, warmUpMs, durationMs } = context.scale.crowd;
  const perRoom = connections / rooms;
  // Each round's whole figures, by system name; the table itself holds the delivery latency.
  const byRound = new Map<string, Array<CrowdRound | undefined>>();
  await measureTable(
    context,
    eventSystems,
    2,
    [{ label: 'crowd', value: undefined }],
    async (running, _, round) => {
      const result = await crowdRound(context, running);
      const rounds =
        byRound.get(running.system.name) ?? Array.from({ length: context.scale.rounds }, () => undefined);
      rounds[round] = result;
      byRound.set(running.system.name, rounds);
      return result.latency;
    },
  );
  const systems = eventSystems.map((s) => s.name);
  const figure = (pick: (round: CrowdRound) => Cell): Record<string, Cell | undefined> => {
    const cells: Record<string, Cell | undefined> = {};
    for (const [system, rounds] of byRound) {
      cells[system] = combineRounds(rounds.map((round) => (round ? pick(round) : undefined)));
    }
    return cells;
  };
  const latencyLabel = `delivery latency, ${rooms.toLocaleString('en-US')} rooms × ${perRoom}`;
  const joinLabel = `join time, ${connections.toLocaleString('en-US')} at once`;
  const rows: Row[] = [
    { label: latencyLabel, cells: figure((round) => round.latency) },
    { label: joinLabel, cells: figure((round) => round.join) },
  ];
  const missing: Row = {
    label: latencyLabel,
    cells: figure((round) => ({ median: round.expected - round.received, n: 1 })),
  };
  const nodeNames = ['node A', 'node B'];
  const perConnection: Row[] = nodeNames.flatMap((node, i) => [
    {
      label: `${node}, RSS`,
      cells: figure((round) => ({ median: round.perConnection[i]?.rss ?? Number.NaN, n: 1 })),
    },
    {
      label: `${node}, JS heap + external`,
      cells: figure((round) => ({ median: round.perConnection[i]?.heap ?? Number.NaN, n: 1 })),
    },
  ]);
  const table: ExtraTable = {
    caption:
      'Every delivery, and what a connection costs each node: deliveries expected (events sent × the ' +
      `${perRoom - 1} other members of the room), received within ${GRACE_MS / 1000} s of the last send, ` +
      `received at all (counting on while they still come, up to ${LATE_MS / 1000} s) and missing, ` +
      'summed over the rounds; memory per connection on each node (the difference to the node before the ' +
      'burst, after a full GC, divided by the connections it holds) and the time the burst took, the ' +
      'median over the rounds.',
    header: [
      'system',
      'rounds',
      'burst: all joined in (s)',
      'deliveries expected',
      `received within ${GRACE_MS / 1000} s`,
      'received',
      'missing',
      ...perConnection.map((row) => `${row.label} (KB)`),
    ],
    rows: [...byRound].map(([system, rounds]) => {
      const done = rounds.filter((round): round is CrowdRound => round !== undefined);
      const expected = done.reduce((sum, round) => sum + round.expected, 0);
      const onTime = done.reduce((sum, round) => sum + round.onTime, 0);
      const received = done.reduce((sum, round) => sum + round.received, 0);
      return [
        system,
        String(done.length),
        formatNumber(median(done.map((round) => round.burstMs / 1000))),
        expected.toLocaleString('en-US'),
        onTime.toLocaleString('en-US'),
        received.toLocaleString('en-US'),
        (expected - received).toLocaleString('en-US'),
        ...perConnection.map((row) => formatNumber(row.cells[system]?.median ?? Number.NaN)),
      ];
    }),
  };
  return {
    id: 's6',
    title: `Scale: ${connections.toLocaleString('en-US')} connections in ${rooms.toLocaleString('en-US')} rooms over two nodes`,
    metric: 'time (ms)',
    better: 'lower',
    spread: 'p99',
    systems,
    method:
      `${connections.toLocaleString('en-US')} clients of \`/events\` (socket.io: its client over WebSocket), ` +
      `${connections / 2} on each of two nodes, in ${rooms.toLocaleString('en-US')} rooms of ${perRoom} whose ` +
      'members alternate between the nodes. They all open and join at once, each client process keeping ' +
      `${JOIN_IN_FLIGHT * 2} of them opening at a time (all ${connections.toLocaleString('en-US')} at once ` +
      'overflow the kernel’s queue of half-open connections, and a reset connection is not retried); the join ' +
      'time runs from opening a socket to the join’s acknowledgement. Then one client of each room sends ' +
      `${EVENTS_PER_ROOM_PER_SECOND} event a second for ${warmUpMs / 1000} s unmeasured and ` +
      `${durationMs / 1000} s measured (${(rooms * EVENTS_PER_ROOM_PER_SECOND).toLocaleString('en-US')} ` +
      `events/s, ${(rooms * (perRoom - 1)).toLocaleString('en-US')} deliveries/s); the other members record ` +
      'each event’s latency. The clients are spread over the bench’s worker processes, each of them and ' +
      'each node started with its soft limit of open files raised to the hard limit. In each of the ' +
      `${context.scale.rounds} interleaved rounds each system opens a new crowd on the same two nodes (started once for the scenario).`,
    rows,
    notes: [
      'socket.io keeps no history: a member that misses an event never gets it; swarmcast appends every ' +
        'event to the room’s stream before it is delivered.',
    ],
    tables: [table],
    figures: { [MISSING]: [missing], [PER_CONNECTION]: perConnection },
  };
}
