import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Cell, Row, RunInfo, ScenarioResult } from './report-model';
import { median } from './stats';
import { barChart, formatNumber } from './svg-chart';

/** A target of the issue, checked against the figures of this run. */
export interface Target {
  readonly text: string;
  /** undefined when the run lacks a figure to decide it. */
  readonly met: boolean | undefined;
  readonly detail: string;
}

/** How many times better the first system is than `peer` (> 1: better), by medians. */
export function advantage(result: ScenarioResult, label: string, peer: string): number {
  const row = result.rows.find((r) => r.label === label);
  return ratioOf(result.better, row?.cells[result.systems[0]!]?.median, row?.cells[peer]?.median);
}

function ratioOf(better: 'lower' | 'higher', ours: number | undefined, theirs: number | undefined): number {
  if (ours === undefined || theirs === undefined) return Number.NaN;
  // A ratio only means something between two positive figures: a memory growth that came
  // out negative (the allocator gave pages back mid-measurement) is noise, not 2× better.
  if (!(ours > 0) || !(theirs > 0)) return Number.NaN;
  return better === 'lower' ? theirs / ours : ours / theirs;
}

/**
 * The advantage over `peer` in each interleaved round (round i of ours against round i of
 * theirs, measured side by side), from the figure `pick` of each round's cell (the median by
 * default); rounds where either failed are left out. A cell measured once counts as one round.
 */
export function roundAdvantages(
  result: Pick<ScenarioResult, 'better' | 'systems'>,
  row: Row | undefined,
  peer: string,
  pick: (cell: Cell) => number | undefined = (cell) => cell.median,
): number[] {
  const ours = roundsOf(row?.cells[result.systems[0]!]);
  const theirs = roundsOf(row?.cells[peer]);
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(ours.length, theirs.length); i++) {
    const ratio = ratioOf(result.better, pick(ours[i]!), pick(theirs[i]!));
    if (Number.isFinite(ratio)) ratios.push(ratio);
  }
  return ratios;
}

/** The cells of each round of `cell` (itself when it was measured once). */
export function roundsOf(cell: Cell | undefined): readonly Cell[] {
  if (!cell) return [];
  return cell.rounds ?? [cell];
}

/**
 * The worst advantage over `peer` in any round of the case `label`: what a target is held
 * to. NaN when no round has both figures.
 */
export function worstAdvantage(result: ScenarioResult, label: string, peer: string): number {
  const ratios = roundAdvantages(
    result,
    result.rows.find((r) => r.label === label),
    peer,
  );
  return ratios.length > 0 ? Math.min(...ratios) : Number.NaN;
}

/** The worst round's figure of a cell (highest when lower is better), or its own spread figure. */
function worstRound(cell: Cell | undefined, better: 'lower' | 'higher'): number | undefined {
  if (!cell?.rounds) return cell?.p99;
  const values = cell.rounds.map((round) => round.median).filter((value) => Number.isFinite(value));
  if (values.length === 0) return undefined;
  return better === 'lower' ? Math.max(...values) : Math.min(...values);
}

/** "worst / median / best" of the per-round ratios, or a dash. */
function spreadText(ratios: readonly number[]): string {
  if (ratios.length === 0) return '—';
  const sorted = [...ratios].sort((a, b) => a - b);
  return `${sorted[0]!.toFixed(2)} / ${median(sorted).toFixed(2)} / ${sorted.at(-1)!.toFixed(2)}×`;
}

function cellText(value: number | undefined): string {
  return value === undefined ? '—' : formatNumber(value);
}

function ratioText(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : '—';
}

function scenarioSection(result: ScenarioResult, imageDir: string): string {
  const [ours, ...peers] = result.systems;
  const header = [
    'case',
    ...result.systems.flatMap((s) => [`${s} median`, `${s} ${result.spread}`]),
    ...peers.map((p) => `${ours} vs ${p}`),
    ...peers.map((p) => `rounds vs ${p}: worst / median / best`),
  ];
  const rounds = Math.max(
    0,
    ...result.rows.flatMap((row) => Object.values(row.cells).map((cell) => roundsOf(cell).length)),
  );
  const lines = [
    `## ${result.id.toUpperCase()}. ${result.title}`,
    '',
    result.method,
    '',
    `Figures: ${result.metric}; ${result.better} is better; each cell is the median over ${rounds} ` +
      `interleaved round${rounds === 1 ? '' : 's'}${result.spread === 'worst round' ? ', beside the worst round' : ''}. ` +
      `"${ours} vs …" says how many times better ${ours} is (ratio of the medians; above 1: ${ours} ahead); ` +
      '"rounds vs …" gives the same ratio round by round (each round’s figures measured side by side): ' +
      'the worst round, the median round and the best. A target holds only if its worst round does.',
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
  ];
  for (const row of result.rows) {
    const cells = result.systems.flatMap((s) => [
      cellText(row.cells[s]?.median),
      cellText(result.spread === 'worst round' ? worstRound(row.cells[s], result.better) : row.cells[s]?.p99),
    ]);
    const ratios = peers.map((p) => (row.ratio === false ? '—' : ratioText(advantage(result, row.label, p))));
    const spreads = peers.map((p) =>
      row.ratio === false ? '—' : spreadText(roundAdvantages(result, row, p)),
    );
    lines.push(`| ${[row.label, ...cells, ...ratios, ...spreads].join(' | ')} |`);
  }
  lines.push('', `![${result.title}](${imageDir}/bench-${result.id}.svg)`, '');
  for (const note of result.notes) lines.push(`- ${note}`);
  if (result.notes.length > 0) lines.push('');
  for (const table of result.tables ?? []) {
    lines.push(table.caption, '', `| ${table.header.join(' | ')} |`);
    lines.push(`|${table.header.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`);
    for (const row of table.rows) lines.push(`| ${row.join(' | ')} |`);
    lines.push('');
    for (const note of table.notes ?? []) lines.push(`- ${note}`);
    if ((table.notes ?? []).length > 0) lines.push('');
  }
  return lines.join('\n');
}

export interface Report {
  readonly info: RunInfo;
  readonly results: readonly ScenarioResult[];
  readonly targets: readonly Target[];
  /** Hand-written findings (profiles, explanations), kept across runs in test/bench/findings.md. */
  readonly findings: string;
  /** What went wrong during this run and how the bench dealt with it. */
  readonly incidents: readonly string[];
}

/** Writes `benchmarks.md` and `img/bench-*.svg` into `outDir`. */
export function writeReport(outDir: string, report: Report): string {
  const imageDir = 'img';
  mkdirSync(path.join(outDir, imageDir), { recursive: true });
  for (const result of report.results) {
    const svg = barChart({
      title: `${result.id.toUpperCase()}. ${result.title}`,
      unit: `median, ${result.metric.replace(/^.*\(([^)]+)\)$/, '$1')}; ${result.better} is better`,
      series: result.systems,
      groups: result.rows.map((row) => ({
        label: row.label,
        values: result.systems.map((s) => row.cells[s]?.median ?? Number.NaN),
      })),
    });
    writeFileSync(path.join(outDir, imageDir, `bench-${result.id}.svg`), svg);
  }
  const { info } = report;
  const lines = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench${info.mode === 'quick' ? ' -- --quick' : ''}\` on ${info.startedAt} ` +
      `(${info.mode} run, ${Math.round(info.durationS)} s). Everything below the findings is written by the ` +
      'bench: run it again rather than editing the figures. The findings come from `test/bench/findings.md`.',
    '',
    ...info.notes.map((n) => `> ${n}`),
    info.notes.length > 0 ? '' : undefined,
    '## Machine and versions',
    '',
    `- Machine: ${info.machine}`,
    ...Object.entries(info.versions).map(([name, version]) => `- ${name}: ${version}`),
    '',
    '## Targets',
    '',
    '| target | met | figures |',
    '|---|---|---|',
    ...report.targets.map(
      (t) => `| ${t.text} | ${t.met === undefined ? 'n/a' : t.met ? 'yes' : 'no'} | ${t.detail} |`,
    ),
    '',
    report.findings.trim(),
    '',
    '## Incidents of this run',
    '',
    ...(report.incidents.length > 0 ? report.incidents.map((i) => `- ${i}`) : ['None.']),
    '',
    ...report.results.map((r) => scenarioSection(r, imageDir)),
  ].filter((line): line is string => line !== undefined);
  const file = path.join(outDir, 'benchmarks.md');
  writeFileSync(
    file,
    `${lines
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trimEnd()}\n`,
  );
  return file;
}
