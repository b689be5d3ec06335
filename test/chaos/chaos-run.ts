import { decodeDocument } from '../../src/backend/storage/document-encoding';
import { Y } from '../../src/modules/yjs/esm';
import { waitFor } from '../helpers/wait';
import { type CheckResult, check, type DocumentRecord } from './checker';
import { contentOf, destroyProvider, Editor, openProvider } from './editors';
import { FaultSchedule } from './faults';
import { Random } from './random';
import { Reader, type ReaderKind, type Received } from './reader';
import { ChaosStack, type RedisMode } from './stack';
import { Writer } from './writer';

export interface ChaosOptions {
  readonly minutes: number;
  readonly seed: number;
  readonly redis: RedisMode;
  /** false: the clients run, no fault is injected (the checker's own test uses it). */
  readonly faults?: boolean;
  /** The script each node runs (default `dist/src/main.js`). */
  readonly entry?: string;
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Runs on past `minutes` until every JSON room's acknowledged offsets reach this (at
   * most 5 minutes more): the checker's own test needs the rooms past a given offset
   * however loaded the machine is.
   */
  readonly untilOffset?: number;
  /** Milliseconds a writer waits at most between two sends (0-this, at random). */
  readonly writerPauseMs?: number;
  readonly log?: (line: string) => void;
}

export interface ChaosReport extends CheckResult {
  /** How many faults of each kind were injected. */
  readonly faults: ReadonlyMap<string, number>;
  /** Faults that could not complete (a failover that did not happen in time, say). */
  readonly faultErrors: readonly string[];
}

const NODES = 3;
const JSON_ROOMS = ['chaos-a', 'chaos-b'];
const DOC_ROOM = 'chaos-doc';
const EDITORS = 3;
/**
 * No node's heap may pass this. A node here holds a few dozen connections and three
 * rooms; its heap settles near 30-60 MiB, so a quarter of a GiB means memory that grows
 * with the run's length (a leak), not with its load.
 */
export const HEAP_BOUND_BYTES = 256 * 1024 * 1024;
/** How long the end of the run waits for readers, documents and the database to settle. */
const SETTLE_MS = 60_000;

/**
 * One chaos run: starts the stack and the clients, injects faults from the seeded
 * schedule for `minutes`, restores everything, waits for the clients to settle and
 * returns the checker's verdict. Everything it started is stopped, pass or fail.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const random = new Random(options.seed);
  const stack = await ChaosStack.start({
    redis: options.redis,
    nodes: NODES,
    entry: options.entry,
    env: options.env,
  });
  const writers: Writer[] = [];
  const readers: Reader[] = [];
  const editors: Editor[] = [];
  let heapTimer: NodeJS.Timeout | undefined;
  // Interrupted (Ctrl-C, a CI timeout), the run still stops every node, Redis and
  // PostgreSQL it started: a leftover node would burn CPU in every later measurement.
  const interrupted = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping everything the run started`);
    void stack.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const urls = stack.slots.map((slot) => slot.eventsUrl);
    const rotated = (first: number) => urls.map((_, i) => urls[(first + i) % urls.length]!);
    for (const room of JSON_ROOMS) {
      stack.slots.forEach((slot, i) => {
        readers.push(new Reader(`stay-${room}-${slot.name}`, 'stay', room, urls, i, random.fork()));
      });
      const others: ReaderKind[] = room === JSON_ROOMS[0] ? ['rejoin', 'rejoin', 'slow'] : ['rejoin'];
      others.forEach((kind, i) => {
        readers.push(new Reader(`${kind}-${room}-${i}`, kind, room, urls, i, random.fork()));
      });
    }
    await waitFor(() => readers.every((r) => r.baseline !== undefined), 'every reader to join', 30_000);
    for (const room of JSON_ROOMS) {
      for (let i = 0; i < 2; i++) {
        const name = `w${writers.length + 1}`;
        writers.push(
          new Writer(name, room, rotated(writers.length), random.fork(), options.writerPauseMs ?? 40),
        );
      }
    }
    stack.slots.forEach((slot, i) => {
      if (i < EDITORS) editors.push(new Editor(`e${i + 1}`, slot.yjsUrl, DOC_ROOM, random.fork(), 300));
    });
    const sampleHeaps = () => {
      for (const slot of stack.slots) void slot.sampleHeap();
    };
    heapTimer = setInterval(sampleHeaps, 2000);
    for (const writer of writers) writer.start();
    for (const editor of editors) editor.start();

    const schedule = new FaultSchedule(stack, random.fork(), log);
    if (options.faults !== false) schedule.start();
    const endAt = Date.now() + options.minutes * 60_000;
    while (Date.now() < endAt) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, endAt - Date.now())));
      const acked = writers.reduce((sum, w) => sum + w.acked.length, 0);
      log(`${Math.round((endAt - Date.now()) / 1000)} s left; ${acked} events acknowledged`);
    }
    const reached = (offset: number) =>
      JSON_ROOMS.every((room) =>
        writers.some((w) => w.acked.some((a) => a.room === room && a.offset >= offset)),
      );
    if (options.untilOffset !== undefined) {
      await waitFor(
        () => reached(options.untilOffset!),
        `every room past offset ${options.untilOffset}`,
        300_000,
      );
    }
    log('stopping the faults');
    await schedule.stop();
    // Every fault restores what it broke; a node a crash took down may still be starting.
    await Promise.all(stack.slots.map((slot) => slot.start()));
    log('stopping the writers and editors');
    await Promise.all(writers.map((w) => w.stop()));
    for (const editor of editors) editor.stop();
    const editsEnded = Date.now();
    for (const reader of readers) reader.settle();

    const acked = writers.flatMap((w) => w.acked);
    const lastAcked = new Map<string, number>();
    for (const ack of acked) lastAcked.set(ack.room, Math.max(lastAcked.get(ack.room) ?? 0, ack.offset));
    log('waiting for the readers to catch up');
    await waitFor(
      () => readers.every((r) => (r.lastOffset ?? 0) >= (lastAcked.get(r.room) ?? 0)),
      'every reader to reach the last acknowledged offset',
      SETTLE_MS,
    ).catch((err: unknown) => log(String(err)));

    log('waiting for the documents to converge');
    const documents = [await converge(stack, editors, editsEnded)];
    log('checking the database');
    const databaseBehind = await checkDatabase(stack, acked, lastAcked, editors[0]!);
    sampleHeaps();
    clearInterval(heapTimer);

    const result = check({
      faults: schedule.counts,
      acked,
      readers,
      documents,
      databaseBehind,
      databaseRooms: JSON_ROOMS.length + 1,
      heaps: new Map(stack.slots.map((slot) => [slot.name, slot.maxHeapBytes])),
      heapBoundBytes: HEAP_BOUND_BYTES,
      crashes: stack.slots.reduce((sum, slot) => sum + slot.crashes.length, 0),
      minutes: options.minutes,
      seed: options.seed,
      redis: options.redis,
    });
    for (const slot of stack.slots)
      for (const crash of slot.crashes) log(`${slot.name} exited by itself:\n${crash}`);
    for (const writer of writers) {
      const failures = JSON.stringify(Object.fromEntries(writer.failures));
      log(
        `${writer.name}: ${writer.acked.length} acknowledged, ${writer.unknown.length} of unknown fate, failures ${failures}`,
      );
    }
    for (const reader of readers) logRepeats(reader, started, log);
    const afterLeaving = readers.reduce((sum, r) => sum + r.afterLeaving, 0);
    if (afterLeaving > 0) log(`${afterLeaving} frames arrived on sockets the readers had left (not counted)`);
    for (const reader of readers)
      for (const refusal of reader.refusals) log(`${reader.name}: not replayed: ${refusal}`);
    for (const id of result.storedTwiceIds) {
      const wid = id.slice(id.indexOf('|') + 1);
      const writer = writers.find((w) => wid.startsWith(`${w.name}:`));
      log(
        `stored twice: ${id}; its failed sends were answered ${JSON.stringify(writer?.answers.get(wid) ?? [])}`,
      );
    }
    return { ...result, faults: schedule.counts, faultErrors: schedule.errors };
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    clearInterval(heapTimer);
    for (const writer of writers) writer.close();
    for (const reader of readers) reader.close();
    for (const editor of editors) editor.close();
    await stack.close();
  }
}

/**
 * Waits until every editor holds the same list with every token any editor made, then
 * has a late joiner (on another node) sync and agree too.
 */
async function converge(stack: ChaosStack, editors: Editor[], since: number): Promise<DocumentRecord> {
  const tokens = new Set(editors.flatMap((e) => e.tokens));
  const agreed = () => {
    const first = JSON.stringify(editors[0]!.content);
    return editors.every((e) => JSON.stringify(e.content) === first);
  };
  const missing = () => {
    const held = new Set(editors[0]!.content);
    return [...tokens].filter((t) => !held.has(t)).length;
  };
  let converged = await waitFor(() => agreed() && missing() === 0, 'the editors to agree', SETTLE_MS)
    .then(() => true)
    .catch(() => false);
  if (converged) {
    const late = openProvider(stack.slots[stack.slots.length - 1]!.yjsUrl, DOC_ROOM);
    try {
      const expected = JSON.stringify(editors[0]!.content);
      converged = await waitFor(
        () => late.synced && JSON.stringify(contentOf(late.doc)) === expected,
        'the late joiner to agree',
        SETTLE_MS,
      )
        .then(() => true)
        .catch(() => false);
    } finally {
      destroyProvider(late);
    }
  }
  return {
    room: DOC_ROOM,
    replicas: editors.length + 1,
    converged,
    ms: Date.now() - since,
    missingEdits: missing(),
  };
}

/** Waits for the database to hold every acknowledged event and the agreed document; what it still lacks. */
async function checkDatabase(
  stack: ChaosStack,
  acked: ReadonlyArray<{ room: string; offset: number; wid: string }>,
  lastAcked: ReadonlyMap<string, number>,
  editor: Editor,
): Promise<string[]> {
  const behind = async (): Promise<string[]> => {
    const problems: string[] = [];
    for (const room of JSON_ROOMS) {
      const rows = await stack.query<{ offset: string; text: string }>(
        `SELECT "offset", data->>'text' AS text FROM swarmcast_events WHERE room = $1`,
        [room],
      );
      const stored = new Map(rows.map((row) => [Number(row.offset), row.text]));
      const absent = acked.filter((a) => a.room === room && stored.get(a.offset) !== a.wid).length;
      if (absent > 0)
        problems.push(`room ${room} lacks ${absent} acknowledged events (last ${lastAcked.get(room)})`);
    }
    const doc = await stack.query<{ yjs_document: Buffer | null; yjs_encoding: string }>(
      'SELECT yjs_document, yjs_encoding FROM swarmcast_rooms WHERE room = $1',
      [DOC_ROOM],
    );
    const row = doc[0];
    const update = row?.yjs_document ? decodeDocument(row.yjs_document, row.yjs_encoding) : undefined;
    const expected = JSON.stringify(editor.content);
    if (!update) problems.push(`room ${DOC_ROOM} has no document`);
    else {
      const stored = new Y.Doc();
      Y.applyUpdate(stored, update);
      if (JSON.stringify(contentOf(stored)) !== expected)
        problems.push(`room ${DOC_ROOM}'s document is not the agreed one`);
      stored.destroy();
    }
    return problems;
  };
  let last: string[] = [];
  await waitFor(
    async () => {
      last = await behind().catch((err: unknown) => [`query failed: ${String(err)}`]);
      return last.length === 0;
    },
    'the database to hold the final state',
    SETTLE_MS,
  ).catch(() => {});
  return last;
}

/**
 * For a reader that received some offset twice: how many, the range, when (seconds into
 * the run, to match the fault log), on which node, and whether the second copy was the
 * same event (a redelivery) or another one (an offset used twice).
 */
function logRepeats(reader: Reader, started: number, log: (line: string) => void): void {
  const first = new Map<number, Received>();
  const repeats: Array<{ offset: number; a: Received; b: Received }> = [];
  for (const received of reader.received) {
    const earlier = first.get(received.offset);
    if (earlier) repeats.push({ offset: received.offset, a: earlier, b: received });
    else first.set(received.offset, received);
  }
  if (repeats.length === 0) return;
  const secs = (at: number) => ((at - started) / 1000).toFixed(1);
  const other = repeats.filter((r) => r.a.text !== r.b.text).length;
  const offsets = repeats.map((r) => r.offset);
  log(
    `${reader.name}: ${repeats.length} offsets received twice (${Math.min(...offsets)}-${Math.max(...offsets)}), ` +
      `first copies at ${secs(repeats[0]!.a.at)}-${secs(repeats.at(-1)!.a.at)} s, second at ${secs(repeats[0]!.b.at)}-${secs(repeats.at(-1)!.b.at)} s; ` +
      `${other} of them another event's text; ${reader.resumes} resumes`,
  );
}
