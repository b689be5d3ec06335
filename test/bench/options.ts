import path from 'node:path';

/** The sizes of one run: `--quick` is every scenario at small scale, for the test and for a first look. */
export interface Scale {
  readonly mode: 'quick' | 'full';
  /** Client processes generating load. */
  readonly workers: number;
  /**
   * Interleaved rounds: every system is measured once per round, the order reversed every
   * other round (ABC, CBA, ABC), and a target is met only when its worst round meets it.
   */
  readonly rounds: number;
  /** Scenario 1 and 5 (latency): readers on the other node, and the writer's rate and time per round. */
  readonly latency: { readers: number[]; rate: number; durationMs: number };
  /** Scenario 2 and 5 (throughput): the offered-load ramp. */
  readonly ramp: {
    /** Deliveries per second the first stage offers (probes/s × other clients of the room). */
    startDeliveries: number;
    factor: number;
    stageMs: number;
    maxStages: number;
  };
  readonly throughput: {
    oneRoom: { clients: number };
    manyRooms: { rooms: number; clients: number };
  };
  /**
   * Scenario 3: document sizes (bytes) and joiners at once; a lone joiner joins `repeats`
   * times a round, one after another, since one join is one sample.
   */
  readonly join: { sizes: number[]; joiners: number[]; repeats: number };
  /** Scenario 4: idle connections, rooms with a document of `roomBytes`, and interleaved rounds. */
  readonly memory: { idleConnections: number; rooms: number; roomBytes: number; rounds: number };
  /**
   * Scenario 6, scale: `/events` connections spread evenly over two nodes, in rooms of
   * connections / rooms, each room's one sender sending one event a second for `warmUpMs`
   * unmeasured (so that no node is still subscribing to a room), then `durationMs` measured.
   */
  readonly crowd: { connections: number; rooms: number; warmUpMs: number; durationMs: number };
  /**
   * Scenario 7: updates the writer sends as fast as it can, readers, repeats within each
   * interleaved round, and each repeat's deadline.
   */
  readonly saturation: { updates: number; readers: number; rounds: number; timeoutMs: number };
  /** The whole run's deadline: past it everything is stopped and the run fails. */
  readonly deadlineMs: number;
}

const KB = 1024;
const MB = 1024 * KB;

export const fullScale: Scale = {
  mode: 'full',
  workers: 2,
  rounds: 3,
  latency: { readers: [1, 10, 100], rate: 50, durationMs: 6000 },
  ramp: { startDeliveries: 8000, factor: 2, stageMs: 1500, maxStages: 8 },
  throughput: { oneRoom: { clients: 50 }, manyRooms: { rooms: 200, clients: 5 } },
  join: { sizes: [10 * KB, MB, 10 * MB], joiners: [1, 50], repeats: 7 },
  memory: { idleConnections: 1000, rooms: 30, roomBytes: MB, rounds: 3 },
  crowd: { connections: 10_000, rooms: 1000, warmUpMs: 2000, durationMs: 10_000 },
  saturation: { updates: 10_000, readers: 10, rounds: 1, timeoutMs: 60_000 },
  // Three interleaved rounds of everything, and S6's 10,000 connections, on 2 shared cores.
  deadlineMs: 40 * 60_000,
};

export const quickScale: Scale = {
  mode: 'quick',
  workers: 2,
  // Two rounds still interleave (AB, BA); each is smaller than a full run's.
  rounds: 2,
  latency: { readers: [1, 10], rate: 40, durationMs: 1000 },
  ramp: { startDeliveries: 2000, factor: 3, stageMs: 500, maxStages: 3 },
  throughput: { oneRoom: { clients: 10 }, manyRooms: { rooms: 10, clients: 3 } },
  join: { sizes: [10 * KB, 256 * KB], joiners: [1, 5], repeats: 3 },
  // One round: memory does not move with the load as times do, and two would double the quick run's S4.
  memory: { idleConnections: 50, rooms: 2, roomBytes: 256 * KB, rounds: 1 },
  crowd: { connections: 1000, rooms: 100, warmUpMs: 1000, durationMs: 2000 },
  saturation: { updates: 1000, readers: 10, rounds: 1, timeoutMs: 30_000 },
  // Two interleaved rounds of every scenario: about 3 minutes on a quiet machine, 6 on a loaded one.
  deadlineMs: 8 * 60_000,
};

export interface Options {
  readonly scale: Scale;
  /** Where the report goes: `docs/` by default; the test points it at a temporary directory. */
  readonly outDir: string;
  /** Scenario ids to run (default: all). */
  readonly only: readonly string[];
  /** System names to run (default: all): for profiling one of them. */
  readonly systems: readonly string[];
  /** Write V8 CPU profiles of every server process into this directory. */
  readonly cpuProfDir?: string;
  /** Scenario 4 writes heap snapshots of each server before and after into this directory. */
  readonly heapSnapshotDir?: string;
  /** Run swarmcast without Redis (one node): only for working on the bench. */
  readonly embedded: boolean;
  /** The swarmcast build to measure: `<dir>/dist/src/main.js` of `--swarmcast DIR`, else this checkout's. */
  readonly swarmcastMain?: string;
}

/**
 * `defaultOut` is where a full run writes its report (`docs/`). A partial run (`--quick`,
 * `--only`, `--systems`, `--swarmcast`, `--embedded`) writes into `partialOut` unless `--out`
 * is given, so that it never replaces the full run's report with a part of one.
 */
export function parseOptions(argv: readonly string[], defaultOut: string, partialOut: string): Options {
  let quick = false;
  let outDir: string | undefined;
  let cpuProfDir: string | undefined;
  let heapSnapshotDir: string | undefined;
  let embedded = false;
  let swarmcastMain: string | undefined;
  const only: string[] = [];
  const systems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--quick') quick = true;
    else if (arg === '--out') outDir = value();
    else if (arg === '--only') only.push(...value().split(','));
    else if (arg === '--systems') systems.push(...value().split(','));
    else if (arg === '--cpu-prof') cpuProfDir = value();
    else if (arg === '--heap-snapshots') heapSnapshotDir = value();
    else if (arg === '--embedded') embedded = true;
    else if (arg === '--swarmcast') swarmcastMain = path.resolve(value(), 'dist', 'src', 'main.js');
    else
      throw new Error(
        `unknown option ${arg} (known: --quick, --out DIR, --only s1,s2, --systems a,b, --cpu-prof DIR, --heap-snapshots DIR, --embedded, --swarmcast DIR)`,
      );
  }
  const partial = quick || only.length > 0 || systems.length > 0 || embedded || swarmcastMain !== undefined;
  return {
    scale: quick ? quickScale : fullScale,
    outDir: outDir ?? (partial ? partialOut : defaultOut),
    only,
    systems,
    cpuProfDir,
    heapSnapshotDir,
    embedded,
    swarmcastMain,
  };
}

export function formatBytes(bytes: number): string {
  if (bytes >= MB) return `${+(bytes / MB).toFixed(1)} MB`;
  if (bytes >= KB) return `${+(bytes / KB).toFixed(1)} KB`;
  return `${bytes} B`;
}
