/**
 * A load-generating worker: a separate process (forked by the bench) holding many clients, so
 * that clients never share an event loop with the servers they measure. The parent drives it
 * with requests over the IPC channel (see `WorkerRequest`); every answer carries the request's id.
 */
import { now, Reservoir } from '../stats';
import { type BenchClient, type ClientSpec, type Libraries, loadLibraries, openClient } from './clients';

export type WorkerRequest =
  /**
   * Opens clients into `group`; answers each client's time to ready (and to `expectLength`
   * seeded characters). With `inFlight`, at most that many of them are opening at any time.
   */
  | {
      method: 'open';
      group: string;
      clients: ClientSpec[];
      expectLength?: number;
      timeoutMs: number;
      inFlight?: number;
    }
  /** Clears the delivery count and latency sample of `group`. */
  | { method: 'reset'; group: string }
  /** Deliveries to `group` since the last reset, and a latency sample of them. */
  | { method: 'stats'; group: string }
  /** The first `writers` clients of `group` send `rate` probes per second in total for `durationMs`. */
  | { method: 'write'; group: string; writers: number; rate: number; durationMs: number }
  /** Client `index` of `group` writes `bytes` of text to its document. */
  | { method: 'seed'; group: string; index: number; bytes: number; chunk: number }
  /** Client `index` of `group` sets `count` keys as fast as it can (see BenchClient.burst). */
  | { method: 'burst'; group: string; index: number; count: number; perTask: number }
  /** The fewest `burst` keys any client of `group` holds. */
  | { method: 'keys'; group: string }
  /** Closes the clients of `group`, or of every group with `*`. */
  | { method: 'close'; group: string };

export interface OpenAnswer {
  /** Milliseconds from opening to ready (and fully seeded, with `expectLength`), per client. */
  readonly joinMs: number[];
}

export interface StatsAnswer {
  readonly delivered: number;
  readonly latencies: number[];
}

export interface KeysAnswer {
  readonly fewest: number;
}

export interface WriteAnswer {
  readonly sent: number;
  readonly elapsedMs: number;
}

interface Group {
  readonly clients: BenchClient[];
  readonly latencies: Reservoir;
}

const groups = new Map<string, Group>();
let libraries: Promise<Libraries> | undefined;

function group(name: string): Group {
  const found = groups.get(name);
  if (!found) throw new Error(`no client group ${name}`);
  return found;
}

function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Runs `tasks` with at most `limit` of them pending at once, in order; answers their results
 * in order.
 */
async function bounded<T>(tasks: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
  return results;
}

async function open(
  name: string,
  specs: ClientSpec[],
  expectLength: number | undefined,
  timeoutMs: number,
  inFlight = Number.POSITIVE_INFINITY,
) {
  libraries ??= loadLibraries();
  const libs = await libraries;
  let target = groups.get(name);
  if (!target) {
    target = { clients: [], latencies: new Reservoir() };
    groups.set(name, target);
  }
  const { latencies } = target;
  const joins = specs.map((spec) => async () => {
    const started = now();
    const client = openClient(libs, spec);
    target.clients.push(client);
    client.onProbe((sentAt) => latencies.add(now() - sentAt));
    await client.ready;
    if (expectLength !== undefined && client.seededLength() < expectLength) {
      await new Promise<void>((resolve) => {
        client.onChange(() => {
          if (client.seededLength() >= expectLength) resolve();
        });
      });
    }
    return now() - started;
  });
  const joinMs = await deadline(
    bounded(joins, inFlight),
    timeoutMs,
    `${specs.length} clients to join ${name}`,
  );
  return { joinMs } satisfies OpenAnswer;
}

/** Sends probes at a steady total rate, catching up after event-loop stalls rather than dropping. */
async function write(target: Group, writers: number, rate: number, durationMs: number): Promise<WriteAnswer> {
  const senders = target.clients.slice(0, writers);
  const started = now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = now() - started;
      const due = Math.min(Math.floor((elapsed * rate) / 1000), Math.floor((durationMs * rate) / 1000));
      while (sent < due) {
        senders[sent % senders.length]!.sendProbe();
        sent++;
      }
      if (elapsed >= durationMs) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 2);
  });
  return { sent, elapsedMs: now() - started };
}

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.method) {
    case 'open':
      return open(request.group, request.clients, request.expectLength, request.timeoutMs, request.inFlight);
    case 'reset':
      group(request.group).latencies.clear();
      return {};
    case 'stats': {
      const { latencies } = group(request.group);
      return { delivered: latencies.seen, latencies: latencies.values } satisfies StatsAnswer;
    }
    case 'write':
      return write(group(request.group), request.writers, request.rate, request.durationMs);
    case 'seed':
      group(request.group).clients[request.index]!.seed(request.bytes, request.chunk);
      return {};
    case 'burst':
      await group(request.group).clients[request.index]!.burst(request.count, request.perTask);
      return {};
    case 'keys': {
      const counts = group(request.group).clients.map((client) => client.burstKeys());
      return { fewest: counts.length === 0 ? 0 : Math.min(...counts) } satisfies KeysAnswer;
    }
    case 'close': {
      const names = request.group === '*' ? [...groups.keys()] : [request.group];
      for (const name of names) {
        const found = groups.get(name);
        groups.delete(name);
        for (const client of found?.clients ?? []) client.close();
      }
      return {};
    }
  }
}

process.on('message', (message: { id: number; request: WorkerRequest }) => {
  handle(message.request).then(
    (result) => process.send?.({ id: message.id, result }),
    (err: unknown) =>
      process.send?.({
        id: message.id,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      }),
  );
});
// Every y-websocket provider adds a process 'exit' listener; hundreds of them are intended here.
process.setMaxListeners(0);
// When the bench goes away (even killed), the worker goes with it.
process.on('disconnect', () => process.exit(0));
