import type { Cell, ScenarioResult } from '../report-model';
import { summarize } from '../stats';
import { type RunningSystem, yjsSystems } from '../systems';
import { type BenchContext, freshRoom, measureTable } from './context';

/**
 * Keys a script sets per macrotask: the bursts of the report that found the problem (a
 * paste, a scripted import, a drawing app), and what y-websocket sends as that many frames.
 */
const PER_TASK = 100;
/** How often the readers are asked how far they are; the figures are seconds. */
const POLL_MS = 20;

/**
 * Saturation: one writer on node A sets `updates` keys of a Y.Map as fast as it can (one
 * update each), `readers` readers on node B; the time from the first key to the moment every
 * reader holds every key. A server that cuts the writer off, or drops an update, never gets
 * there and the case fails.
 */
async function saturate(context: BenchContext, running: RunningSystem): Promise<Cell> {
  const { pool, scale } = context;
  const { updates, readers, rounds, timeoutMs } = scale.saturation;
  const seconds: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const room = freshRoom('saturation');
    const writerGroup = `${room}-w`;
    const readerGroup = `${room}-r`;
    const writer = pool.worker(0);
    try {
      await writer.call({
        method: 'open',
        group: writerGroup,
        clients: [{ protocol: running.system.protocol, url: running.url(0), room }],
        timeoutMs: 30_000,
      });
      await pool.openSpread(
        readerGroup,
        Array.from({ length: readers }, () => ({
          protocol: running.system.protocol,
          url: running.url(1),
          room,
        })),
        60_000,
      );
      const started = performance.now();
      const written = writer.call(
        { method: 'burst', group: writerGroup, index: 0, count: updates, perTask: PER_TASK },
        timeoutMs,
      );
      const deadline = started + timeoutMs;
      for (;;) {
        const fewest = await fewestKeys(context, readerGroup);
        if (fewest >= updates) break;
        if (performance.now() > deadline) {
          throw new Error(`after ${timeoutMs / 1000} s the slowest reader held ${fewest} of ${updates} keys`);
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      const took = (performance.now() - started) / 1000;
      seconds.push(took);
      // Every round in the log: a later round that fails leaves the cell empty, not these.
      context.log(`  ${running.system.name} round ${round + 1}: ${took.toFixed(2)} s`);
      await written;
    } catch (err) {
      context.log(
        `  ${running.system.name} round ${round + 1} failed: ${err instanceof Error ? err.message : err}`,
      );
      throw err;
    } finally {
      await Promise.all([pool.closeAll(readerGroup), pool.closeAll(writerGroup)]);
    }
  }
  const { median } = summarize(seconds);
  return { median, p99: Math.max(...seconds), n: seconds.length };
}

/** The fewest keys any reader holds, over every worker that has readers of the group. */
async function fewestKeys(context: BenchContext, group: string): Promise<number> {
  const answers = await Promise.all(
    context.pool.workers.map((w) =>
      w.call({ method: 'keys', group }).then(
        (a) => a.fewest,
        () => Number.POSITIVE_INFINITY,
      ),
    ),
  );
  return Math.min(...answers);
}

/** Scenario 6: a writer as fast as it can, readers on the other node: time until all hold everything. */
export async function saturation(context: BenchContext): Promise<ScenarioResult> {
  const { updates, readers, rounds } = context.scale.saturation;
  const rows = await measureTable(
    context,
    yjsSystems,
    2,
    [{ label: `${updates.toLocaleString('en-US')} updates, ${readers} readers`, value: undefined }],
    (running) => saturate(context, running),
  );
  return {
    id: 's7',
    title: 'Saturation: one writer as fast as it can',
    metric: 'seconds until every reader holds every update',
    better: 'lower',
    spread: 'worst round',
    systems: yjsSystems.map((s) => s.name),
    method:
      `One unmodified provider on node A sets ${updates.toLocaleString('en-US')} keys of a Y.Map, one ` +
      `transaction (one update, one frame) each, ${PER_TASK} per macrotask, as fast as it can; ${readers} ` +
      'readers on node B. The figure is the time from the first key to the moment the slowest reader ' +
      `holds every key (polled every ${POLL_MS} ms). ${rounds} run(s) on a fresh room in each of the ` +
      `${context.scale.rounds} interleaved rounds: median, and the worst round. swarmcast runs with its default limits: the writer is read at ` +
      '`YJS_RATE_LIMIT_PER_SEC` past its burst, never closed.',
    rows,
    notes: ['y-websocket-server runs one node: writer and readers on it.'],
  };
}
