import { type ChildProcess, fork, spawn } from 'node:child_process';
import { connect } from 'node:net';
import path from 'node:path';
import { waitFor, within } from '../helpers/wait';

/** Memory of a server process after a full GC, as the memory hook reports it. */
export interface MemorySample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

const MEMORY_HOOK = path.join(__dirname, 'peers', 'memory-hook.js');

/**
 * Every process the bench started, so that one call stops them all: at the end of a run, on
 * an error, on SIGINT/SIGTERM and when the run's own deadline passes.
 */
class ProcessRegistry {
  private readonly live = new Set<ChildProcess>();

  add(proc: ChildProcess): void {
    this.live.add(proc);
    // A send on a channel that a stopping process already closed must not crash the bench.
    proc.on('error', () => {});
    proc.once('exit', () => this.live.delete(proc));
  }

  get count(): number {
    return this.live.size;
  }

  /** SIGTERM to everything, then SIGKILL to what is left after `graceMs`. */
  async stopAll(graceMs = 3000): Promise<void> {
    const procs = [...this.live];
    await Promise.all(procs.map((proc) => stopProcess(proc, graceMs)));
  }

  /** Synchronous last resort for `process.on('exit')`: no time left to wait. */
  killAllNow(): void {
    for (const proc of this.live) proc.kill('SIGKILL');
  }
}

export const processes = new ProcessRegistry();

export async function stopProcess(proc: ChildProcess, graceMs = 3000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A server process of any system, with the memory hook preloaded. */
export class ServerProcess {
  readonly output: string[] = [];
  private nextRequest = 0;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    readonly port: number,
    /** The server's own readiness check, when it has one (swarmcast's GET /readyz). */
    readonly ready: () => Promise<boolean> = async () => true,
  ) {
    for (const stream of [proc.stdout, proc.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        this.output.push(chunk.toString());
        if (this.output.length > 200) this.output.shift();
      });
    }
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Runs a full GC in the server and returns its memory then. */
  memory(): Promise<MemorySample> {
    const id = ++this.nextRequest;
    const answer = new Promise<MemorySample>((resolve) => {
      const onMessage = (message: unknown) => {
        const m = message as { type?: string; id?: number; memory?: MemorySample };
        if (m.type === 'memory' && m.id === id && m.memory) {
          this.proc.off('message', onMessage);
          resolve(m.memory);
        }
      };
      this.proc.on('message', onMessage);
    });
    if (!this.proc.connected) return Promise.reject(new Error(`${this.name} is gone`));
    this.proc.send({ type: 'memory', id });
    return within(answer, `memory of ${this.name}`, 15_000);
  }

  /** Writes a V8 heap snapshot of the server to `file` (for `--heap-snapshots`). */
  heapSnapshot(file: string): Promise<void> {
    const id = ++this.nextRequest;
    const done = new Promise<void>((resolve) => {
      const onMessage = (message: unknown) => {
        const m = message as { type?: string; id?: number };
        if (m.type === 'heap-snapshot' && m.id === id) {
          this.proc.off('message', onMessage);
          resolve();
        }
      };
      this.proc.on('message', onMessage);
    });
    this.proc.send({ type: 'heap-snapshot', id, file });
    return within(done, `heap snapshot of ${this.name}`, 60_000);
  }

  stop(): Promise<void> {
    return stopProcess(this.proc);
  }
}

export interface LaunchOptions {
  readonly name: string;
  /** A compiled script to run with `node`. */
  readonly script: string;
  readonly port: number;
  readonly env?: Record<string, string>;
  /** Where to write a V8 CPU profile when the process exits (`--cpu-prof`). */
  readonly cpuProfDir?: string;
  /** Extra readiness check after the port accepts connections (e.g. GET /readyz). */
  readonly ready?: () => Promise<boolean>;
}

/**
 * fork() options that run Node through `sh`, which first raises the soft limit of open files
 * to the hard limit (`ulimit -Hn`), then execs Node in its place (same pid, same IPC channel):
 * a node or a client process of scenario 6 holds thousands of sockets, more than the usual
 * soft limit of 1,024. Where the hard limit is "unlimited", the kernel's cap (fs.nr_open) is
 * taken instead.
 */
export function withRaisedFileLimit(execArgv: readonly string[]): { execPath: string; execArgv: string[] } {
  const raise =
    'hard=$(ulimit -Hn); if [ "$hard" = unlimited ]; then hard=$(cat /proc/sys/fs/nr_open); fi; ' +
    'ulimit -n "$hard" 2>/dev/null; exec "$0" "$@"';
  return { execPath: '/bin/sh', execArgv: ['-c', raise, process.execPath, ...execArgv] };
}

/** Starts `script` in its own process and waits until its port accepts connections. */
export async function launchServer(options: LaunchOptions): Promise<ServerProcess> {
  const execArgv = ['--expose-gc', '--require', MEMORY_HOOK];
  if (options.cpuProfDir) execArgv.push('--cpu-prof', '--cpu-prof-dir', options.cpuProfDir);
  const proc = fork(options.script, [], {
    ...withRaisedFileLimit(execArgv),
    env: { ...process.env, PORT: String(options.port), HOST: '127.0.0.1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  processes.add(proc);
  const server = new ServerProcess(options.name, proc, options.port, options.ready);
  const exited = new Promise<never>((_, reject) =>
    proc.once('exit', (code) =>
      reject(
        new Error(`${options.name} exited with ${code} before it was ready:\n${server.output.join('')}`),
      ),
    ),
  );
  exited.catch(() => {});
  await within(
    Promise.race([
      exited,
      waitFor(
        async () => (await portOpen(options.port)) && (options.ready ? await options.ready() : true),
        `${options.name} to listen on ${options.port}`,
        20_000,
      ),
    ]),
    `${options.name} to start`,
    25_000,
  );
  return server;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A plain child process (redis-server), registered so that it is stopped with the rest. */
export function spawnRegistered(command: string, args: string[]): ChildProcess {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  processes.add(proc);
  return proc;
}
