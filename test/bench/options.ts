import path from 'node:path';

/** The sizes of one run: `--quick` is every scenario at small scale, for the test and for a first look. */
export interface Scale {
  readonly mode: 'quick' | 'full';
  /** Client processes generating load. */
  readonly workers: number;
  /** Scenario 1 and 5 (latency): readers on the other node, writer rate, length and number of rounds. */
  readonly latency: { readers: number[]; rate: number; durationMs: number; rounds: number };
  /** Scenario 2 and 5 (throughput): the offered-load ramp. */
  readonly ramp: {
    /** Deliveries per second the first stage offers (probes/s × other clients of the room). */
    startDeliveries: number;
    factor: number;
    stageMs: number;
    maxStages: number;
    rounds: number;
  };
  readonly throughput: {
    oneRoom: { clients: number };
    manyRooms: { rooms: number; clients: number };
  };
  /** Scenario 3: document sizes (bytes), joiners at once, rounds. */
  readonly join: { sizes: number[]; joiners: number[]; rounds: number };
  /** Scenario 4: idle connections, and rooms with a document of `roomBytes`. */
  readonly memory: { idleConnections: number; rooms: number; roomBytes: number };
  /** Scenario 6: updates the writer sends as fast as it can, readers, rounds, and each round's deadline. */
  readonly saturation: { updates: number; readers: number; rounds: number; timeoutMs: number };
  /** The whole run's deadline: past it everything is stopped and the run fails. */
  readonly deadlineMs: number;
}

const KB = 1024;
const MB = 1024 * KB;

export const fullScale: Scale = {
  mode: 'full',
  workers: 2,
  latency: { readers: [1, 10, 100], rate: 50, durationMs: 6000, rounds: 3 },
  ramp: { startDeliveries: 8000, factor: 2, stageMs: 1500, maxStages: 8, rounds: 2 },
  throughput: { oneRoom: { clients: 50 }, manyRooms: { rooms: 200, clients: 5 } },
  join: { sizes: [10 * KB, MB, 10 * MB], joiners: [1, 50], rounds: 3 },
  memory: { idleConnections: 1000, rooms: 30, roomBytes: MB },
  saturation: { updates: 10_000, readers: 10, rounds: 3, timeoutMs: 60_000 },
  deadlineMs: 16 * 60_000,
};

export const quickScale: Scale = {
  mode: 'quick',
  workers: 2,
  latency: { readers: [1, 10], rate: 40, durationMs: 1000, rounds: 2 },
  ramp: { startDeliveries: 2000, factor: 3, stageMs: 700, maxStages: 3, rounds: 1 },
  throughput: { oneRoom: { clients: 10 }, manyRooms: { rooms: 10, clients: 3 } },
  join: { sizes: [10 * KB, 256 * KB], joiners: [1, 5], rounds: 1 },
  memory: { idleConnections: 50, rooms: 2, roomBytes: 256 * KB },
  saturation: { updates: 2000, readers: 10, rounds: 1, timeoutMs: 30_000 },
  deadlineMs: 4 * 60_000,
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

export function parseOptions(argv: readonly string[], defaultOut: string): Options {
  let quick = false;
  let outDir = defaultOut;
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
  return {
    scale: quick ? quickScale : fullScale,
    outDir,
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
