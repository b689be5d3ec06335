import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { within } from './helpers/wait';

const RUN = path.join(__dirname, 'bench', 'run.js');
/** Every table the report must have: one per scenario (scenario 5 has two). */
const SCENARIOS = ['S1', 'S2', 'S3', 'S4', 'S5A', 'S5B'];
const SYSTEMS: Record<string, string[]> = {
  S1: ['swarmcast', 'hocuspocus', 'y-websocket-server'],
  S2: ['swarmcast', 'hocuspocus', 'y-websocket-server'],
  S3: ['swarmcast', 'hocuspocus', 'y-websocket-server'],
  S4: ['swarmcast', 'hocuspocus', 'y-websocket-server'],
  S5A: ['swarmcast', 'socket.io'],
  S5B: ['swarmcast', 'socket.io'],
};

/** The Markdown table under the `## <id>.` heading, as rows of cells. */
function table(report: string, id: string): string[][] {
  const start = report.indexOf(`## ${id}. `);
  assert.notEqual(start, -1, `the report has no section ${id}`);
  const end = report.indexOf('\n## ', start + 1);
  const section = report.slice(start, end === -1 ? undefined : end);
  return section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
}

test('the quick bench run writes a complete report: every scenario table, finite figures, a chart each', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'swarmcast-bench-'));
  try {
    const proc = spawn(process.execPath, [RUN, '--quick', '--out', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    proc.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const code = await within(
      new Promise<number | null>((resolve) => proc.once('exit', resolve)),
      'the quick bench run',
      200_000,
    )
      .catch((err: Error) => {
        throw new Error(`${err.message}\n${output.join('')}`);
      })
      .finally(() => proc.kill('SIGINT'));
    assert.equal(code, 0, output.join(''));

    const report = readFileSync(path.join(out, 'benchmarks.md'), 'utf8');
    for (const id of SCENARIOS) {
      const [header, separator, ...rows] = table(report, id);
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
      const ratios = header.filter((h) => h.startsWith('swarmcast vs '));
      assert.equal(ratios.length, SYSTEMS[id]!.length - 1, `${id} has a ratio column per peer`);
      assert.match(
        report,
        new RegExp(`\\]\\(img/bench-${id.toLowerCase()}\\.svg\\)`),
        `${id} links its chart`,
      );
    }
    const charts = readdirSync(path.join(out, 'img')).sort();
    assert.deepEqual(
      charts,
      SCENARIOS.map((id) => `bench-${id.toLowerCase()}.svg`),
    );
    for (const chart of charts) {
      assert.match(readFileSync(path.join(out, 'img', chart), 'utf8'), /^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    }
    assert.match(report, /\| S1: propagation p99 below Hocuspocus’s \| (yes|no) \|/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
