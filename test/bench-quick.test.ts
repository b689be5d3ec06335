import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { within } from './helpers/wait';

const RUN = path.join(__dirname, 'bench', 'run.js');
/** Every table the report must have: one per scenario (scenario 5 has two). */
const SCENARIOS = ['S1', 'S2', 'S3', 'S4', 'S5A', 'S5B', 'S6', 'S7'];
const SYSTEMS: Record<string, string[]> = {
  S1: ['swarmcast', 'hocuspocus', 'y-websocket-server'],
  S2: ['swarmcast', 'hocuspocus', 'y-websocket-server'],
  S3: ['swarmcast', 'hocuspocus', 'y-websocket-server'],
  S4: ['swarmcast', 'hocuspocus', 'y-websocket-server'],
  // With the option of ephemeral room events (stream: null) beside the default.
  S5A: ['swarmcast', 'socket.io', 'swarmcast-ephemeral'],
  S5B: ['swarmcast', 'socket.io', 'swarmcast-ephemeral'],
  S6: ['swarmcast', 'socket.io'],
  S7: ['swarmcast', 'hocuspocus', 'y-websocket-server'],
};

/** The Markdown tables under the `## <id>.` heading, in order, each as rows of cells. */
function tables(report: string, id: string): string[][][] {
  const start = report.indexOf(`## ${id}. `);
  assert.notEqual(start, -1, `the report has no section ${id}`);
  const end = report.indexOf('\n## ', start + 1);
  const section = report.slice(start, end === -1 ? undefined : end);
  const found: string[][][] = [];
  let current: string[][] | undefined;
  for (const line of section.split('\n')) {
    if (!line.startsWith('|')) {
      current = undefined;
      continue;
    }
    if (!current) {
      current = [];
      found.push(current);
    }
    current.push(
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
  }
  return found;
}

/** Scenarios with a table of where the CPU went per 1,000 deliveries. */
const CPU_TABLES = ['S2', 'S5B'];
const CPU_COLUMNS = ['clients (ms)', 'server nodes (ms)', 'Redis (ms)', 'servers + Redis (ms)'];

test('the quick bench run writes a complete report: every scenario table, finite figures, a chart each', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'swarmcast-bench-'));
  try {
    const proc = spawn(process.execPath, [RUN, '--quick', '--out', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    // The run takes about three minutes: its progress lines ("[12.3s] scenario S2") go on to
    // stderr, which the test runner shows as they come, so `npm test` says where it is.
    proc.stdout.on('data', (chunk: Buffer) => {
      output.push(chunk.toString());
      process.stderr.write(chunk.toString().replace(/^(?=.)/gm, '  quick bench '));
    });
    proc.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const code = await within(
      new Promise<number | null>((resolve) => proc.once('exit', resolve)),
      'the quick bench run',
      500_000,
    )
      .catch((err: Error) => {
        throw new Error(`${err.message}\n${output.join('')}`);
      })
      .finally(() => proc.kill('SIGINT'));
    assert.equal(code, 0, output.join(''));

    const report = readFileSync(path.join(out, 'benchmarks.md'), 'utf8');
    for (const id of SCENARIOS) {
      const [main, cpu] = tables(report, id);
      const [header, separator, ...rows] = main ?? [];
      assert.ok(header && separator, `${id} has a table`);
      assert.ok(rows.length > 0, `${id} has rows`);
      for (const system of SYSTEMS[id]!) {
        const column = header.indexOf(`${system} median`);
        assert.notEqual(column, -1, `${id} has a column for ${system}`);
        for (const row of rows) {
          const value = Number(row[column]!.replace(/,/g, ''));
          assert.ok(Number.isFinite(value), `${id} "${row[0]}" ${system}: "${row[column]}" is a number`);
        }
      }
      if (CPU_TABLES.includes(id)) {
        const [cpuHeader, , ...cpuRows] = cpu ?? [];
        assert.ok(cpuHeader, `${id} has a CPU table`);
        const columns = CPU_COLUMNS.map((name) => cpuHeader.indexOf(name));
        assert.ok(!columns.includes(-1), `${id}'s CPU table has ${CPU_COLUMNS.join(', ')}`);
        for (const row of rows) {
          assert.ok(
            cpuRows.some((cpuRow) => cpuRow[0] === row[0] && cpuRow[1] === 'swarmcast'),
            `${id}'s CPU table has swarmcast's "${row[0]}"`,
          );
        }
        for (const cpuRow of cpuRows) {
          for (const column of columns) {
            const value = Number(cpuRow[column]!.replace(/,/g, ''));
            assert.ok(Number.isFinite(value) && value >= 0, `${id} CPU "${cpuRow.join(' | ')}"`);
          }
        }
      }
      const ratios = header.filter((h) => h.startsWith('swarmcast vs '));
      assert.equal(ratios.length, SYSTEMS[id]!.length - 1, `${id} has a ratio column per peer`);
      // The spread of each ratio over the interleaved rounds: worst / median / best round.
      for (const peer of SYSTEMS[id]!.slice(1)) {
        const column = header.indexOf(`rounds vs ${peer}: worst / median / best`);
        assert.notEqual(column, -1, `${id} has the per-round spread of the ratio to ${peer}`);
        for (const row of rows) {
          assert.match(
            row[column]!,
            /^(\d+\.\d\d \/ \d+\.\d\d \/ \d+\.\d\d×|—)$/,
            `${id} "${row[0]}" vs ${peer}`,
          );
        }
      }
      assert.match(
        report,
        new RegExp(`\\]\\(img/bench-${id.toLowerCase()}\\.svg\\)`),
        `${id} links its chart`,
      );
    }
    const charts = readdirSync(path.join(out, 'img')).sort();
    assert.deepEqual(charts, [...SCENARIOS, 'S9'].map((id) => `bench-${id.toLowerCase()}.svg`).sort());
    for (const chart of charts) {
      assert.match(readFileSync(path.join(out, 'img', chart), 'utf8'), /^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    }
    assert.match(report, /\| S1: propagation p99 below Hocuspocus’s \| (yes|no) \|/);
    // Scale: every delivery counted on both systems, and a memory figure per connection on each node.
    const [, deliveries] = tables(report, 'S6');
    const [deliveriesHeader, , ...deliveriesRows] = deliveries ?? [];
    assert.ok(deliveriesHeader, 'S6 has a table of deliveries and memory');
    const missing = deliveriesHeader.indexOf('missing');
    const memoryColumns = deliveriesHeader.filter((h) => h.endsWith('(KB)'));
    assert.equal(memoryColumns.length, 4, 'S6 reports RSS and heap per connection on both nodes');
    assert.deepEqual(
      deliveriesRows.map((row) => row[0]),
      SYSTEMS.S6,
    );
    for (const row of deliveriesRows) {
      // Counted, not judged here: whether every delivery arrived is a target of the report.
      assert.match(row[missing]!, /^\d[\d,]*$/, `S6: ${row[0]}'s missing deliveries are counted`);
      for (const header of memoryColumns) {
        const value = Number(row[deliveriesHeader.indexOf(header)]!.replace(/,/g, ''));
        assert.ok(Number.isFinite(value), `S6: ${row[0]} ${header} is a number`);
      }
    }
    assert.match(report, /\| S6: every delivery arrives \(every round\) \| (yes|no) \|/);
    // Cold rooms, swarmcast alone (the storage tier has no peer here): both targets decided.
    assert.match(report, /\| S9: Redis memory per cold room under 1 KB \| (yes|no) \|/);
    assert.match(
      report,
      /\| S9: reopening a cold 1 MB room from PostgreSQL at most 2× a warm join \| (yes|no) \|/,
    );
    assert.match(report, /\]\(img\/bench-s9\.svg\)/, 'S9 links its chart');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
