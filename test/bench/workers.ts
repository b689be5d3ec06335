import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { within } from '../helpers/wait';
import type { ClientSpec } from './client/clients';
import type { KeysAnswer, OpenAnswer, StatsAnswer, WorkerRequest, WriteAnswer } from './client/worker';
import { processes, stopProcess, withRaisedFileLimit } from './processes';

const WORKER = path.join(__dirname, 'client', 'worker.js');

type Answer<R extends WorkerRequest> = R['method'] extends 'open'
  ? OpenAnswer
  : R['method'] extends 'stats'
    ? StatsAnswer
    : R['method'] extends 'write'
      ? WriteAnswer
      : R['method'] extends 'keys'
        ? KeysAnswer
        : Record<string, never>;

/** One forked load-generating process (client/worker.ts). */
export class ClientWorker {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(
    readonly index: number,
    private readonly proc: ChildProcess,
  ) {
    proc.on('message', (message: { id: number; result?: unknown; error?: string }) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(`worker ${index}: ${message.error}`));
      else waiter.resolve(message.result);
    });
    proc.once('exit', (code, signal) => {
      for (const waiter of this.pending.values())
        waiter.reject(new Error(`worker ${index} exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  call<R extends WorkerRequest>(request: R, timeoutMs = 120_000): Promise<Answer<R>> {
    if (!this.proc.connected) return Promise.reject(new Error(`worker ${this.index} is gone`));
    const id = ++this.nextId;
    const answer = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.proc.send({ id, request }, (err) => {
      if (err) this.pending.get(id)?.reject(err);
    });
    return within(answer, `worker ${this.index}: ${request.method} ${request.group}`, timeoutMs) as Promise<
      Answer<R>
    >;
  }

  stop(): Promise<void> {
    return stopProcess(this.proc, 2000);
  }
}

/** The bench's client processes; clients are spread over them round-robin. */
export class ClientPool {
  private constructor(readonly workers: ClientWorker[]) {}

  static start(count: number): ClientPool {
    const workers = Array.from({ length: count }, (_, index) => {
      // Large documents (10 MB × 50 joiners) need more than the default old-space limit.
      const proc = fork(WORKER, [], {
        // Scenario 6 holds thousands of sockets per worker.
        ...withRaisedFileLimit(['--max-old-space-size=8192']),
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      processes.add(proc);
      return new ClientWorker(index, proc);
    });
    return new ClientPool(workers);
  }

  worker(index: number): ClientWorker {
    return this.workers[index % this.workers.length]!;
  }

  /** Opens `clients` into `group`, spread over every worker; answers all join times. */
  async openSpread(
    group: string,
    clients: ClientSpec[],
    timeoutMs: number,
    expectLength?: number,
    /** At most this many of each worker's clients opening at once (default: all). */
    inFlight?: number,
  ): Promise<number[]> {
    const shares = this.workers.map((_, i) => clients.filter((_, j) => j % this.workers.length === i));
    const answers = await Promise.all(
      this.workers.map((worker, i) =>
        shares[i]!.length === 0
          ? { joinMs: [] }
          : worker.call(
              { method: 'open', group, clients: shares[i]!, expectLength, timeoutMs, inFlight },
              timeoutMs + 5000,
            ),
      ),
    );
    return answers.flatMap((a) => a.joinMs);
  }

  async resetAll(group: string): Promise<void> {
    await Promise.all(this.workers.map((w) => w.call({ method: 'reset', group }).catch(() => ({}))));
  }

  /** Deliveries and latency samples of `group`, summed over every worker that has it. */
  async statsAll(group: string): Promise<StatsAnswer> {
    const answers = await Promise.all(
      this.workers.map((w) =>
        w.call({ method: 'stats', group }).catch(() => ({ delivered: 0, latencies: [] })),
      ),
    );
    return {
      delivered: answers.reduce((sum, a) => sum + a.delivered, 0),
      latencies: answers.flatMap((a) => a.latencies),
    };
  }

  /** Closes `group` on every worker (a worker without it answers at once). */
  async closeAll(group: string): Promise<void> {
    await Promise.all(this.workers.map((w) => w.call({ method: 'close', group })));
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}
