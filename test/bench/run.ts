/**
 * `npm run bench [-- --quick] [--out DIR] [--only s1,s5] [--cpu-prof DIR]`: measures swarmcast
 * beside its peers on this machine and writes docs/benchmarks.md with its charts. Every server
 * and client runs in its own process; everything started is stopped at the end, on an error,
 * on SIGINT/SIGTERM, and when the run's deadline passes.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import path from 'node:path';
import { parseOptions } from './options';
import { processes } from './processes';
import { BenchRedis } from './redis-server';
import { advantage, type Target, writeReport } from './report';
import type { RunInfo, ScenarioResult } from './report-model';
import { coldRooms } from './scenarios/cold-rooms';
import type { BenchContext } from './scenarios/context';
import { events } from './scenarios/events';
import { joins } from './scenarios/join';
import { memory } from './scenarios/memory';
import { propagation } from './scenarios/propagation';
import { redisCluster } from './scenarios/redis-cluster';
import { saturation } from './scenarios/saturation';
import { throughput } from './scenarios/throughput';
import { ClientPool } from './workers';

const ROOT = path.join(__dirname, '..', '..', '..');

const SCENARIOS: Array<{
  id: string;
  run: (context: BenchContext) => Promise<ScenarioResult | ScenarioResult[]>;
  /**
   * Left out of `--quick` unless named in `--only`: S8 starts six more redis-servers, too
   * much for the smoke run inside `npm test` on a small machine.
   */
  full?: boolean;
}> = [
  { id: 's1', run: propagation },
  { id: 's2', run: throughput },
  { id: 's3', run: joins },
  { id: 's4', run: memory },
  { id: 's5', run: events },
  { id: 's7', run: saturation },
  { id: 's8', run: redisCluster, full: true },
  { id: 's9', run: coldRooms },
];

function version(pkg: string): string {
  try {
    const file = path.join(ROOT, ...(pkg === 'swarmcast' ? [] : ['node_modules', pkg]), 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function machine(): string {
  const list = cpus();
  const gib = (totalmem() / 2 ** 30).toFixed(0);
  return `${list.length} × ${list[0]?.model.trim() ?? 'unknown CPU'}, ${gib} GiB, ${type()} ${release()}, Node ${process.version}`;
}

function targets(results: readonly ScenarioResult[]): Target[] {
  const find = (id: string) => results.find((r) => r.id === id);
  const list: Target[] = [];
  const s1 = find('s1');
  if (s1) {
    const p99 = (label: string, system: string) => s1.rows.find((r) => r.label === label)?.cells[system]?.p99;
    const checks = s1.rows.map((row) => ({
      label: row.label,
      ours: p99(row.label, 'swarmcast'),
      theirs: p99(row.label, 'hocuspocus'),
    }));
    const decided = checks.every((c) => c.ours !== undefined && c.theirs !== undefined);
    list.push({
      text: 'S1: propagation p99 below Hocuspocus’s',
      met: decided ? checks.every((c) => c.ours! < c.theirs!) : undefined,
      detail: checks
        .map((c) => `${c.label}: ${c.ours?.toFixed(1) ?? '—'} vs ${c.theirs?.toFixed(1) ?? '—'} ms`)
        .join('; '),
    });
  }
  const s2 = find('s2');
  if (s2) {
    const ratios = s2.rows.map((row) => ({
      label: row.label,
      ratio: advantage(s2, row.label, 'hocuspocus'),
    }));
    list.push({
      text: 'S2: throughput ≥ 2× Hocuspocus with Redis',
      met: ratios.every((r) => Number.isFinite(r.ratio)) ? ratios.every((r) => r.ratio >= 2) : undefined,
      detail: ratios
        .map((r) => `${r.label}: ${Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : '—'}×`)
        .join('; '),
    });
  }
  const s4 = find('s4');
  if (s4) {
    const ratio = (prefix: string, suffix: string) => {
      const row = s4.rows.find((r) => r.label.startsWith(prefix) && r.label.endsWith(suffix));
      return row ? advantage(s4, row.label, 'hocuspocus') : Number.NaN;
    };
    const heap = ratio('per open room', 'JS heap + external');
    const rss = ratio('per open room', 'RSS');
    const uncached = ratio('per open room', 'YJS_CACHE_BYTES=0');
    const times = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)}×` : '—');
    list.push({
      text: 'S4: memory per open synced room ≤ 1/10 of Hocuspocus’s (JS heap + external, default configuration)',
      met: Number.isFinite(heap) ? heap >= 10 : undefined,
      detail:
        `Hocuspocus uses ${times(heap)} ours (heap), ${times(rss)} (RSS: what the allocator keeps of ` +
        `freed 1 MB buffers, which does not grow with the rooms; see the findings); ` +
        `${times(uncached)} ours with the document cache off (YJS_CACHE_BYTES=0)`,
    });
  }
  const s7 = find('s7');
  if (s7) {
    const row = s7.rows[0];
    const ours = row?.cells.swarmcast?.median;
    const theirs = row?.cells.hocuspocus?.median;
    list.push({
      text: 'S7: saturation at least as fast as Hocuspocus (every reader holds every update)',
      met: ours !== undefined && theirs !== undefined ? ours <= theirs : undefined,
      detail: `${ours?.toFixed(2) ?? '—'} s vs ${theirs?.toFixed(2) ?? '—'} s`,
    });
  }
  const s9 = find('s9');
  if (s9) {
    const cell = (prefix: string) => s9.rows.find((r) => r.label.startsWith(prefix))?.cells.swarmcast?.median;
    const perRoom = cell('Redis used_memory per cold room');
    const keys = cell('Redis keys per cold room');
    const [warm, cold] = [cell('warm join'), cell('reopen')];
    list.push({
      text: 'S9: Redis memory per cold room under 1 KB',
      met: perRoom === undefined ? undefined : perRoom < 1,
      detail: `${perRoom === undefined ? '—' : (perRoom * 1024).toFixed(0)} bytes and ${keys ?? '—'} keys per room`,
    });
    list.push({
      text: 'S9: reopening a cold 1 MB room from PostgreSQL at most 2× a warm join',
      met: warm === undefined || cold === undefined ? undefined : cold <= 2 * warm,
      detail: `${cold?.toFixed(0) ?? '—'} ms vs ${warm?.toFixed(0) ?? '—'} ms (median)`,
    });
  }
  return list;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), path.join(ROOT, 'docs'));
  const { scale } = options;
  const started = Date.now();
  const log = (message: string) =>
    process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
  const deadline = setTimeout(() => {
    log(`deadline of ${scale.deadlineMs / 1000} s passed: stopping everything`);
    void shutdown(3);
  }, scale.deadlineMs);
  deadline.unref();

  if (options.cpuProfDir) mkdirSync(options.cpuProfDir, { recursive: true });
  const redis = await BenchRedis.start();
  const pool = ClientPool.start(scale.workers);
  const incidents: string[] = [];
  const context: BenchContext = {
    options,
    scale,
    redis,
    pool,
    failures: [],
    log,
    incident: (message) => {
      incidents.push(message);
      log(`incident: ${message}`);
    },
  };
  const results: ScenarioResult[] = [];
  for (const scenario of SCENARIOS) {
    if (options.only.length > 0 && !options.only.includes(scenario.id)) continue;
    if (scenario.full && options.scale.mode === 'quick' && !options.only.includes(scenario.id)) continue;
    log(`scenario ${scenario.id}`);
    const answer = await scenario.run(context);
    results.push(...(Array.isArray(answer) ? answer : [answer]));
  }
  const info: RunInfo = {
    mode: scale.mode,
    startedAt: new Date(started).toISOString().replace(/\.\d+Z$/, 'Z'),
    durationS: (Date.now() - started) / 1000,
    machine: machine(),
    versions: {
      swarmcast: version('swarmcast'),
      '@y/websocket-server': version('@y/websocket-server'),
      '@hocuspocus/server': version('@hocuspocus/server'),
      '@hocuspocus/extension-redis': version('@hocuspocus/extension-redis'),
      '@hocuspocus/provider': version('@hocuspocus/provider'),
      'socket.io': version('socket.io'),
      '@socket.io/redis-adapter': version('@socket.io/redis-adapter'),
      yjs: version('yjs'),
      'y-websocket (client)': version('y-websocket'),
      'redis-server': await redis.version(),
    },
    notes: [
      'The machine has 2 cores shared by the servers, Redis and the load generator (and, while these ' +
        'figures were taken, by other work on the machine): absolute figures are noisy; the ratios, measured ' +
        'side by side in one run, are what to read.',
      ...(options.embedded
        ? ['swarmcast ran on its embedded backend (one node, no Redis): a development run.']
        : []),
    ],
  };
  const findingsFile = path.join(ROOT, 'test', 'bench', 'findings.md');
  const findings = readFileSync(findingsFile, 'utf8');
  const file = writeReport(options.outDir, { info, results, targets: targets(results), findings, incidents });
  log(`report written to ${file}`);
  for (const failure of context.failures) log(`incomplete: ${failure}`);
  await shutdown(context.failures.length > 0 ? 1 : 0, [pool.stop(), redis.close()]);
}

let shuttingDown = false;
async function shutdown(code: number, first: Promise<void>[] = []): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  await Promise.allSettled(first);
  await processes.stopAll();
  process.exit(code);
}

process.on('SIGINT', () => void shutdown(130));
process.on('SIGTERM', () => void shutdown(143));
process.on('exit', () => processes.killAllNow());
main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  void shutdown(1);
});
