/** One measured value in a scenario table: a median and (for distributions) its p99. */
export interface Cell {
  readonly median: number;
  readonly p99?: number;
  /** Samples behind the figure (deliveries, joins, rounds). */
  readonly n: number;
  /**
   * The same figure of each interleaved round, in round order, when the cell was measured in
   * rounds: the ratios' spread and the targets (met only when the worst round meets them) are
   * read from these, pairing round i of one system with round i of another.
   */
  readonly rounds?: readonly Cell[];
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
  /**
   * Further figures of the same rounds by name (e.g. "server + Redis CPU per delivery"), with
   * their rounds, so that a target can be decided on them round by round; the tables above
   * show them formatted.
   */
  readonly figures?: Readonly<Record<string, readonly Row[]>>;
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
