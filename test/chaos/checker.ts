import type { Received } from './reader';
import type { Acked } from './writer';

/** What one reader received, for the checker. */
export interface ReaderRecord {
  readonly name: string;
  readonly room: string;
  readonly baseline: number | undefined;
  readonly received: readonly Received[];
  readonly unrecovered: ReadonlyArray<readonly [number, number]>;
}

/** How one Yjs room ended. */
export interface DocumentRecord {
  readonly room: string;
  /** Editors plus the late joiner that had to agree. */
  readonly replicas: number;
  readonly converged: boolean;
  /** From the end of the edits to the last replica agreeing (or to giving up). */
  readonly ms: number;
  /** Tokens an editor made that the agreed document lacks. */
  readonly missingEdits: number;
}

export interface CheckInput {
  readonly faults: ReadonlyMap<string, number>;
  readonly acked: readonly Acked[];
  readonly readers: readonly ReaderRecord[];
  readonly documents: readonly DocumentRecord[];
  /** Rooms whose final state the database did not hold within the deadline, each with why. */
  readonly databaseBehind: readonly string[];
  readonly databaseRooms: number;
  /** The largest heap each node reported, in bytes. */
  readonly heaps: ReadonlyMap<string, number>;
  readonly heapBoundBytes: number;
  /** Node exits no fault caused. */
  readonly crashes: number;
  readonly minutes: number;
  readonly seed: number;
  readonly redis: string;
}

export interface CheckResult {
  readonly acknowledged: number;
  /** Acknowledged events some reader that should have had them never received (or received altered). */
  readonly lost: number;
  /** Events some reader received more than once. */
  readonly duplicated: number;
  /** Events some reader received after one with a higher offset. */
  readonly outOfOrder: number;
  /** Writer ids stored at more than one offset (a send repeated after its first try was kept). */
  readonly storedTwice: number;
  /** Which writer ids those were (`room|wid`), to look up what their sends were answered. */
  readonly storedTwiceIds: readonly string[];
  /** Resumes the node answered `recovered: false` (or reset), though the history held the range. */
  readonly unrecovered: number;
  readonly readersNeverJoined: number;
  readonly passed: boolean;
  /** What failed, one line each. */
  readonly failures: readonly string[];
  readonly table: string;
}

const key = (room: string, offset: number) => `${room}#${offset}`;

/**
 * The run's verdict. For every reader: each acknowledged event of its room after its first
 * join (less any range the node said it could not replay, counted apart) must have arrived
 * exactly once, with the text the writer sent, in offset order. Counts are of distinct
 * events: an event three readers missed is one lost event.
 */
export function check(input: CheckInput): CheckResult {
  const ackedAt = new Map<string, string>();
  for (const ack of input.acked) ackedAt.set(key(ack.room, ack.offset), ack.wid);
  const lost = new Set<string>();
  const duplicated = new Set<string>();
  const outOfOrder = new Set<string>();
  const offsetsOfWid = new Map<string, Set<number>>();
  let unrecovered = 0;
  let neverJoined = 0;
  const noteWid = (room: string, wid: string, offset: number) => {
    const id = `${room}|${wid}`;
    const set = offsetsOfWid.get(id) ?? new Set<number>();
    set.add(offset);
    offsetsOfWid.set(id, set);
  };
  for (const ack of input.acked) noteWid(ack.room, ack.wid, ack.offset);

  for (const reader of input.readers) {
    unrecovered += reader.unrecovered.length;
    if (reader.baseline === undefined) {
      neverJoined++;
      continue;
    }
    const texts = new Map<number, string>();
    const seen = new Map<number, number>();
    let highest = Number.NEGATIVE_INFINITY;
    for (const { offset, text } of reader.received) {
      const count = (seen.get(offset) ?? 0) + 1;
      seen.set(offset, count);
      if (count > 1) duplicated.add(key(reader.room, offset));
      else if (offset < highest) outOfOrder.add(key(reader.room, offset));
      highest = Math.max(highest, offset);
      texts.set(offset, text);
      noteWid(reader.room, text, offset);
    }
    const excused = (offset: number) =>
      reader.unrecovered.some(([from, to]) => offset > from && offset <= to);
    for (const ack of input.acked) {
      if (ack.room !== reader.room || ack.offset <= reader.baseline || excused(ack.offset)) continue;
      if (texts.get(ack.offset) !== ack.wid) lost.add(key(ack.room, ack.offset));
    }
  }
  const storedTwiceIds = [...offsetsOfWid].filter(([, offsets]) => offsets.size > 1).map(([id]) => id);
  const storedTwice = storedTwiceIds.length;

  const failures: string[] = [];
  if (lost.size > 0) failures.push(`${lost.size} acknowledged events lost`);
  if (duplicated.size > 0) failures.push(`${duplicated.size} events delivered twice`);
  if (outOfOrder.size > 0) failures.push(`${outOfOrder.size} events out of order`);
  if (storedTwice > 0) failures.push(`${storedTwice} events stored twice`);
  if (neverJoined > 0) failures.push(`${neverJoined} readers never joined`);
  // A reader is away for seconds and the history holds thousands of events: a resume
  // refused is the node failing to replay what it has, not the history running out.
  if (unrecovered > 0) failures.push(`${unrecovered} resumes not replayed`);
  const unconverged = input.documents.filter((doc) => !doc.converged);
  if (unconverged.length > 0) failures.push(`${unconverged.length} documents did not converge`);
  for (const behind of input.databaseBehind) failures.push(`database: ${behind}`);
  for (const [node, bytes] of input.heaps) {
    if (bytes === 0) failures.push(`node ${node}'s heap was never measured`);
    else if (bytes > input.heapBoundBytes) failures.push(`node ${node}'s heap reached ${mib(bytes)} MiB`);
  }
  if (input.crashes > 0) failures.push(`${input.crashes} node exits no fault caused`);

  const partial: Omit<CheckResult, 'table'> = {
    acknowledged: input.acked.length,
    lost: lost.size,
    duplicated: duplicated.size,
    outOfOrder: outOfOrder.size,
    storedTwice,
    storedTwiceIds,
    unrecovered,
    readersNeverJoined: neverJoined,
    passed: failures.length === 0,
    failures,
  };
  return { ...partial, table: formatTable(input, partial) };
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}

/** The run's one table, in Markdown so that docs/reliability.md can hold it as printed. */
function formatTable(input: CheckInput, result: Omit<CheckResult, 'table'>): string {
  const rows: Array<[string, string]> = [];
  rows.push(['run', `${input.minutes} min, seed ${input.seed}, Redis ${input.redis}`]);
  let total = 0;
  for (const [kind, count] of [...input.faults].sort(([a], [b]) => a.localeCompare(b))) {
    rows.push([`fault: ${kind}`, String(count)]);
    total += count;
  }
  rows.push(['faults, all kinds', String(total)]);
  rows.push(['events acknowledged', String(result.acknowledged)]);
  rows.push(['readers checked', String(input.readers.length)]);
  rows.push(['lost', String(result.lost)]);
  rows.push(['duplicated', String(result.duplicated)]);
  rows.push(['out of order', String(result.outOfOrder)]);
  rows.push(['stored twice', String(result.storedTwice)]);
  rows.push(['resumes not replayed (recovered: false)', String(result.unrecovered)]);
  for (const doc of input.documents) {
    const missing = doc.missingEdits > 0 ? `, ${doc.missingEdits} edits missing` : '';
    rows.push([
      `document ${doc.room} (${doc.replicas} replicas)`,
      `${doc.converged ? 'converged' : 'NOT converged'} in ${(doc.ms / 1000).toFixed(1)} s${missing}`,
    ]);
  }
  rows.push([
    'database holds the final state',
    input.databaseBehind.length === 0
      ? `yes, ${input.databaseRooms} rooms`
      : `no: ${input.databaseBehind.length} of ${input.databaseRooms}`,
  ]);
  const largest = Math.max(0, ...input.heaps.values());
  rows.push(['largest node heap (bound)', `${mib(largest)} MiB (${mib(input.heapBoundBytes)} MiB)`]);
  rows.push(['node exits no fault caused', String(input.crashes)]);
  rows.push(['verdict', result.passed ? 'PASS' : `FAIL: ${result.failures.join('; ')}`]);
  const width = Math.max(...rows.map(([name]) => name.length));
  const lines = [`| ${'measure'.padEnd(width)} | value |`, `|${'-'.repeat(width + 2)}|-------|`];
  for (const [name, value] of rows) lines.push(`| ${name.padEnd(width)} | ${value} |`);
  return lines.join('\n');
}
