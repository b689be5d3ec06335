/** One measured value in a scenario table: a median and (for distributions) its p99. */
export interface Cell {
  readonly median: number;
  readonly p99?: number;
  /** Samples behind the figure (deliveries, joins, rounds). */
  readonly n: number;
}

export interface Row {
  readonly label: string;
  /** By system name; absent when the system cannot run that case. */
  readonly cells: Readonly<Record<string, Cell | undefined>>;
  /** False where a ratio means nothing (a figure that is about zero for the peers by design). */
  readonly ratio?: boolean;
}

/** Everything the report says about one scenario. */
export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  /** What the numbers are, with unit, e.g. "propagation latency (ms)". */
  readonly metric: string;
  readonly better: 'lower' | 'higher';
  /** What the second figure of a cell is: "p99", or "worst round" for rates. */
  readonly spread: string;
  /** Ours first, then the peers, in column order. */
  readonly systems: readonly string[];
  /** How it was measured, in a few sentences of Markdown. */
  readonly method: string;
  readonly rows: readonly Row[];
  readonly notes: readonly string[];
  /** More tables about the same runs (already formatted cells), after the notes. */
  readonly tables?: readonly ExtraTable[];
}

export interface ExtraTable {
  /** A sentence or two saying what the table shows. */
  readonly caption: string;
  readonly header: readonly string[];
  readonly rows: ReadonlyArray<readonly string[]>;
  readonly notes?: readonly string[];
}

/** Metadata of a run: printed at the top of the report. */
export interface RunInfo {
  readonly mode: 'quick' | 'full';
  readonly startedAt: string;
  readonly durationS: number;
  readonly machine: string;
  readonly versions: Readonly<Record<string, string>>;
  readonly notes: readonly string[];
}
