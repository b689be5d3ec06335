import type { ClientSpec } from '../client/clients';
import { type CpuPids, type CpuSplit, cpuNow, meanSplit, perThousand } from '../cpu';
import type { Cell } from '../report-model';
import { median, summarize } from '../stats';
import type { RunningSystem } from '../systems';
import { type BenchContext, freshRoom } from './context';

/** How long deliveries may trail the last send before they count as lost. */
const GRACE_MS = 2000;
/**
 * A stage whose median delivery waits longer than this is queueing, not keeping up: at the
 * rates below the knee every system here delivers in a few milliseconds.
 */
const SUSTAINED_MEDIAN_MS = 100;

function spec(running: RunningSystem, node: number, room: string): ClientSpec {
  return { protocol: running.system.protocol, url: running.url(node), room };
}

/** Waits until `group` has `expected` deliveries, or the grace period ends; answers its stats. */
export async function settle(context: BenchContext, group: string, expected: number, graceMs = GRACE_MS) {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const stats = await context.pool.statsAll(group);
    if (stats.delivered >= expected || Date.now() > deadline) return stats;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Propagation latency: one writer on node 0 sends probes at a steady rate to a room whose
 * `readers` sit on node 1 (node 0 again for single-node systems); every delivery's latency is
 * kept. Answers the median and p99 over all deliveries (one round of the table).
 */
export async function measureLatency(
  context: BenchContext,
  running: RunningSystem,
  readers: number,
): Promise<Cell> {
  try {
    return await latencyInRoom(context, running, readers);
  } catch (err) {
    if (!(err instanceof SilentRoom)) throw err;
    // Seen with Hocuspocus+Redis: a room whose updates never reach the other node. It is
    // reported, and the case is measured again in a fresh room.
    context.incident(
      `${running.system.name}, ${readers} reader(s): ${err.message}; measured again in a fresh room`,
    );
    return latencyInRoom(context, running, readers);
  }
}

/** A room in which the readers got nothing from the writer during the warm-up. */
class SilentRoom extends Error {}

async function latencyInRoom(context: BenchContext, running: RunningSystem, readers: number): Promise<Cell> {
  const { pool, scale } = context;
  const room = freshRoom('latency');
  const writerGroup = `${room}-w`;
  const readerGroup = `${room}-r`;
  const writer = pool.worker(0);
  const latencies: number[] = [];
  let lost = 0;
  try {
    await writer.call({
      method: 'open',
      group: writerGroup,
      clients: [spec(running, 0, room)],
      timeoutMs: 30_000,
    });
    const readerSpecs = Array.from({ length: readers }, () => spec(running, 1, room));
    await pool.openSpread(readerGroup, readerSpecs, 60_000);
    await warmUp(context, writerGroup, readerGroup, readers);
    await pool.resetAll(readerGroup);
    const { sent } = await writer.call({
      method: 'write',
      group: writerGroup,
      writers: 1,
      rate: scale.latency.rate,
      durationMs: scale.latency.durationMs,
    });
    const stats = await settle(context, readerGroup, sent * readers);
    lost += Math.max(0, sent * readers - stats.delivered);
    latencies.push(...stats.latencies);
  } finally {
    await Promise.all([pool.closeAll(readerGroup), pool.closeAll(writerGroup)]);
  }
  if (lost > 0) context.log(`  ${running.system.name}: ${lost} deliveries missing after ${GRACE_MS} ms`);
  return summarize(latencies);
}

/**
 * Sends a probe every 100 ms until the readers have received `readers` of them (bounded): a
 * node may still be subscribing to the room when its clients are synced, and that start-up
 * is not what the rounds measure.
 */
async function warmUp(context: BenchContext, writerGroup: string, readerGroup: string, readers: number) {
  const writer = context.pool.worker(0);
  const deadline = Date.now() + 15_000;
  await context.pool.resetAll(readerGroup);
  while (Date.now() < deadline) {
    await writer.call({ method: 'write', group: writerGroup, writers: 1, rate: 10, durationMs: 100 });
    if ((await context.pool.statsAll(readerGroup)).delivered >= readers) return;
  }
  const { delivered } = await context.pool.statsAll(readerGroup);
  if (delivered === 0)
    throw new SilentRoom('the readers on the other node got none of the writer’s updates in 15 s');
  context.log(`  warm-up: the readers got ${delivered} probes in 15 s, fewer than ${readers}`);
}

export interface ThroughputShape {
  readonly rooms: number;
  readonly clientsPerRoom: number;
  readonly writersPerRoom: number;
}

export interface ThroughputOptions {
  /** Gets where the CPU went in each ramp's best stage, averaged over the ramps. */
  readonly onCpu?: (cpu: CpuSplit) => void;
  /** Ramps to run here (default 1: the table's rounds repeat it). */
  readonly ramps?: number;
  /**
   * The knee (offered probes/s of the best stage) of an earlier ramp of the same system and
   * case: later ramps start one step below it instead of climbing again. Set by the first ramp.
   */
  readonly knee?: { value: number };
}

/**
 * Maximum sustained throughput: every room's writers together offer a total probe rate that
 * grows stage by stage; a stage is sustained when at least 99% of the deliveries it should
 * cause (every other client of the room gets every probe) arrive within the grace period and
 * their median latency stays under SUSTAINED_MEDIAN_MS. Each ramp runs on fresh rooms (so no
 * ramp pays for the documents an earlier one grew); answers the median over the ramps of the
 * best sustained delivery rate (deliveries per second), and the worst ramp's in place of a p99.
 */
export async function measureThroughput(
  context: BenchContext,
  running: RunningSystem,
  shape: ThroughputShape,
  options: ThroughputOptions = {},
): Promise<Cell> {
  const { scale } = context;
  const startRate = scale.ramp.startDeliveries / (shape.clientsPerRoom - 1);
  const rates: number[] = [];
  const cpu: CpuSplit[] = [];
  const knee = options.knee ?? { value: 0 };
  for (let round = 0; round < (options.ramps ?? 1); round++) {
    const result = await ramp(
      context,
      running,
      shape,
      knee.value > 0 ? Math.max(startRate, knee.value / scale.ramp.factor) : startRate,
    );
    if (knee.value === 0) knee.value = result.knee;
    rates.push(result.perSecond);
    if (result.cpu) cpu.push(result.cpu);
    context.log(
      `  ${running.system.name}: round ${round + 1}: ${Math.round(result.perSecond)} deliveries/s, p99 ${result.p99.toFixed(1)} ms`,
    );
  }
  const meanCpu = meanSplit(cpu);
  if (meanCpu) options.onCpu?.(meanCpu);
  // For a rate the spread that matters is the worst ramp, reported in the p99 column.
  return { median: median(rates), p99: Math.min(...rates), n: rates.length };
}

/** One round of the throughput ramp on fresh rooms: the best sustained stage and its offered rate. */
async function ramp(
  context: BenchContext,
  running: RunningSystem,
  shape: ThroughputShape,
  startRate: number,
) {
  const { pool, scale } = context;
  const base = freshRoom('throughput');
  const writers: ClientSpec[] = [];
  const readers: ClientSpec[] = [];
  for (let r = 0; r < shape.rooms; r++) {
    const room = `${base}-${r}`;
    // Clients of a room alternate between the nodes, so every probe crosses nodes for half the room.
    for (let c = 0; c < shape.clientsPerRoom; c++) {
      (c < shape.writersPerRoom ? writers : readers).push(spec(running, c, room));
    }
  }
  const writerGroup = `${base}-w`;
  const readerGroup = `${base}-r`;
  const perProbe = shape.clientsPerRoom - 1;
  const best: { perSecond: number; p99: number; knee: number; cpu?: CpuSplit } = {
    perSecond: 0,
    p99: Number.NaN,
    knee: 0,
  };
  const pids: CpuPids = {
    clients: pool.workers.map((w) => w.pid).filter((pid) => pid !== undefined),
    servers: running.nodes.map((node) => node.pid),
    redis: context.redis.pid,
  };
  try {
    await pool.openSpread(writerGroup, writers, 120_000);
    await pool.openSpread(readerGroup, readers, 120_000);
    /** One stage: offers `rate` probes/s for stageMs, then counts what arrived. */
    const stage = async (rate: number) => {
      await Promise.all([pool.resetAll(writerGroup), pool.resetAll(readerGroup)]);
      const cpuBefore = cpuNow(pids);
      const stageStart = Date.now();
      const answers = await Promise.all(
        pool.workers.map((worker, i) => {
          const mine = writers.filter((_, j) => j % pool.workers.length === i).length;
          if (mine === 0) return { sent: 0, elapsedMs: 0 };
          return worker.call({
            method: 'write',
            group: writerGroup,
            writers: mine,
            rate: (rate * mine) / writers.length,
            durationMs: scale.ramp.stageMs,
          });
        }),
      );
      const sent = answers.reduce((sum, a) => sum + a.sent, 0);
      const expected = sent * perProbe;
      const deadline = Date.now() + GRACE_MS;
      let delivered = 0;
      let latencies: number[] = [];
      for (;;) {
        const [w, r] = await Promise.all([pool.statsAll(writerGroup), pool.statsAll(readerGroup)]);
        delivered = w.delivered + r.delivered;
        latencies = [...w.latencies, ...r.latencies];
        if (delivered >= expected || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const cpu = perThousand(cpuBefore, cpuNow(pids), delivered);
      // Deliveries over the time they took: the stage plus however long the last ones trailed it.
      const perSecond = delivered / (Math.max(scale.ramp.stageMs, Date.now() - stageStart) / 1000);
      const summary = summarize(latencies);
      const sustained = delivered >= 0.99 * expected && summary.median < SUSTAINED_MEDIAN_MS;
      context.log(
        `  ${running.system.name} ${shape.rooms}x${shape.clientsPerRoom}: offered ${Math.round(rate)} probes/s, ` +
          `${Math.round(perSecond)} deliveries/s, ${((100 * delivered) / Math.max(1, expected)).toFixed(1)}%, ` +
          `p50 ${summary.median.toFixed(1)} ms${sustained ? '' : ' (not sustained)'}`,
      );
      return { sustained, perSecond, p99: summary.p99, cpu };
    };
    // Not counted: lets every node finish subscribing to every room before the ramp.
    context.log('  warm-up stage:');
    await stage(startRate / 4);
    await quiesce(context, [writerGroup, readerGroup]);
    let rate = startRate;
    let refining = false;
    let descents = 0;
    for (let i = 0; i < scale.ramp.maxStages; i++) {
      const result = await stage(rate);
      if (result.sustained && result.perSecond > best.perSecond) {
        Object.assign(best, { perSecond: result.perSecond, p99: result.p99, knee: rate, cpu: result.cpu });
      }
      if (refining) break;
      if (result.sustained) rate *= scale.ramp.factor;
      else if (best.knee === 0) {
        // Not even the first stage held (a slow start, or a start above the knee): step down, twice at most.
        if (++descents > 2) break;
        rate /= scale.ramp.factor;
        await quiesce(context, [writerGroup, readerGroup]);
      } else {
        // One step back between the last sustained rate and the first that was not, then stop.
        refining = true;
        rate /= Math.sqrt(scale.ramp.factor);
        await quiesce(context, [writerGroup, readerGroup]);
      }
    }
  } finally {
    await Promise.all([pool.closeAll(writerGroup), pool.closeAll(readerGroup)]);
  }
  return best;
}

/** Waits (bounded) until deliveries stop trickling in, so that a backlog does not leak into the next round. */
async function quiesce(context: BenchContext, groups: string[]): Promise<void> {
  let last = -1;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const counts = await Promise.all(groups.map((g) => context.pool.statsAll(g)));
    const total = counts.reduce((sum, c) => sum + c.delivered, 0);
    if (total === last) return;
    last = total;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
