import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { within } from './wait';

const MAIN = path.join(__dirname, '..', '..', 'src', 'main.js');

/** A node running as a real process (`node dist/src/main.js`), as `npm start` runs it. */
export interface NodeProcess {
  readonly proc: ChildProcess;
  readonly port: number;
  readonly id: string;
  /** Every line the process wrote (stdout and stderr). */
  readonly lines: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * The data directories of nodes still running: removed when the node exits, or when the
 * test process does first (the runner's forced exit would otherwise leave them in $TMPDIR).
 */
const liveDataDirs = new Set<string>();
process.once('exit', () => {
  for (const dir of liveDataDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Starts a node process on port 0 with `env` added, and waits until it listens. `entry`
 * is the script it runs: `dist/src/main.js`, or a test-only entry that wraps it.
 */
export async function spawnNode(
  env: Record<string, string> = {},
  timeoutMs = 15_000,
  entry = MAIN,
): Promise<NodeProcess> {
  // An embedded node keeps a file under DATA_DIR: each process gets its own, so no test
  // sees rooms another one left behind.
  const dataDir = env.DATA_DIR ? undefined : mkdtempSync(path.join(tmpdir(), 'swarmcast-data-'));
  const proc = spawn(process.execPath, [entry], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', DATA_DIR: dataDir ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (dataDir) {
    liveDataDirs.add(dataDir);
    proc.once('exit', () => {
      liveDataDirs.delete(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    });
  }
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const listening = new Promise<{ port: number; id: string }>((resolve, reject) => {
    const onLine = (line: string) => {
      lines.push(line);
      if (line.includes('"listening on port')) {
        const parsed = JSON.parse(line) as { port: number; node: string };
        resolve({ port: parsed.port, id: parsed.node });
      }
    };
    for (const stream of [proc.stdout!, proc.stderr!]) {
      let buffered = '';
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const parts = buffered.split('\n');
        buffered = parts.pop() ?? '';
        for (const line of parts) onLine(line);
      });
    }
    void exited.then(({ code }) =>
      reject(new Error(`node exited with ${code} before listening:\n${lines.join('\n')}`)),
    );
  });
  // A node that does not come up in time is killed here: the caller never got it to stop.
  const { port, id } = await within(listening, 'node process to listen', timeoutMs).catch((err: unknown) => {
    proc.kill('SIGKILL');
    throw err;
  });
  return { proc, port, id, lines, exited, kill: (signal = 'SIGTERM') => proc.kill(signal) };
}
