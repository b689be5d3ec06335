import calculateSlot from 'cluster-key-slot';
import Redis from 'ioredis';
import type { Random } from './random';
import type { ChaosStack, Link } from './stack';

/** Every kind of fault the run injects; the cluster-only and single-only ones are marked. */
export type FaultKind =
  | 'node kill -9'
  | 'node drain (SIGTERM)'
  | 'CLIENT KILL TYPE pubsub'
  | 'Redis restart (AOF)'
  | 'master failover'
  | 'master kill -9'
  | 'database stop/start'
  | 'Redis link slowed'
  | 'Redis link cut'
  | 'database link slowed'
  | 'database link cut';

interface Fault {
  readonly kind: FaultKind;
  /** What it takes hold of: two faults on one target never overlap (one node down at a time). */
  readonly target: string;
  run(): Promise<void>;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Injects faults from a seeded schedule until stopped: every 1-4 s it picks, at random,
 * one fault whose target is free and starts it, so faults on different targets overlap
 * (a node killed while the database is down and another node's Redis link is slow).
 */
export class FaultSchedule {
  readonly counts = new Map<FaultKind, number>();
  readonly errors: string[] = [];
  private readonly busy = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly stack: ChaosStack,
    private readonly random: Random,
    private readonly log: (line: string) => void,
  ) {
    for (const fault of this.catalogue()) this.counts.set(fault.kind, 0);
  }

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        await pause(this.random.int(1000, 4000));
        if (this.stopped) break;
        const free = this.catalogue().filter((fault) => !this.busy.has(fault.target));
        if (free.length === 0) continue;
        // The kind done least so far among those free, ties at random: every kind gets its share.
        const least = Math.min(...free.map((fault) => this.counts.get(fault.kind)!));
        const fault = this.random.pick(free.filter((f) => this.counts.get(f.kind)! <= least + 1));
        this.begin(fault);
      }
    })();
  }

  /** Stops scheduling and waits for the faults in progress to end (each restores what it broke). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await Promise.all([...this.running]);
  }

  private begin(fault: Fault): void {
    this.busy.add(fault.target);
    this.counts.set(fault.kind, this.counts.get(fault.kind)! + 1);
    this.log(`fault: ${fault.kind} (${fault.target})`);
    const work = fault
      .run()
      .catch((err: unknown) => {
        this.errors.push(`${fault.kind}: ${err instanceof Error ? err.message : String(err)}`);
        this.log(`fault ${fault.kind} failed: ${String(err)}`);
      })
      .finally(() => {
        this.busy.delete(fault.target);
        this.running.delete(work);
      });
    this.running.add(work);
  }

  /** The faults possible right now, one per kind and target. */
  private catalogue(): Fault[] {
    const { stack, random } = this;
    const faults: Fault[] = [];
    const node = (kind: FaultKind, signal: NodeJS.Signals): Fault => ({
      kind,
      target: 'nodes',
      run: async () => {
        const slot = random.pick(stack.slots);
        await slot.stop(signal);
        await pause(random.int(500, 3000));
        await slot.start();
      },
    });
    faults.push(node('node kill -9', 'SIGKILL'), node('node drain (SIGTERM)', 'SIGTERM'));
    faults.push({
      kind: 'CLIENT KILL TYPE pubsub',
      target: 'redis',
      run: () => this.killPubsub(),
    });
    if (stack.redis) {
      const redis = stack.redis;
      faults.push({
        kind: 'Redis restart (AOF)',
        target: 'redis',
        run: async () => {
          await redis.stop();
          await pause(random.int(200, 2000));
          await redis.resume();
        },
      });
    }
    if (stack.cluster) {
      const cluster = stack.cluster;
      faults.push({
        kind: 'master failover',
        target: 'redis',
        run: async () => {
          const nodes = await cluster.nodes();
          await cluster.switchOver(random.pick(nodes.filter((n) => !n.master && !n.failed)));
        },
      });
      faults.push({
        kind: 'master kill -9',
        target: 'redis',
        run: async () => {
          const masters = await cluster.masters();
          const master = random.pick(masters);
          // Any key of one of its slots names it for killMasterOf.
          const slot = master.slots[0]![0];
          let found = '';
          for (let i = 0; calculateSlot(found) !== slot; i++) found = `k${i}`;
          await cluster.killMasterOf(found);
          await pause(random.int(500, 2000));
          await cluster.revive();
        },
      });
    }
    const pg = stack.pg!;
    faults.push({
      kind: 'database stop/start',
      target: 'db',
      run: async () => {
        await pg.stop();
        await pause(random.int(500, 3000));
        await pg.resume();
      },
    });
    for (const slot of stack.slots) {
      faults.push(slowLink('Redis link slowed', `redis-link ${slot.name}`, slot.redisLink, random));
      faults.push(cutLink('Redis link cut', `redis-link ${slot.name}`, slot.redisLink, random));
      faults.push(slowLink('database link slowed', `db-link ${slot.name}`, slot.dbLink, random));
      faults.push(cutLink('database link cut', `db-link ${slot.name}`, slot.dbLink, random));
    }
    // One entry per kind for the choice (a kind with three targets is not three times as likely).
    const byKind = new Map<FaultKind, Fault[]>();
    for (const fault of faults) byKind.set(fault.kind, [...(byKind.get(fault.kind) ?? []), fault]);
    return [...byKind.values()].map((options) => {
      const free = options.filter((f) => !this.busy.has(f.target));
      return random.pick(free.length > 0 ? free : options);
    });
  }

  /** Cuts every pub/sub connection of the Redis (every master of a cluster), as an operator's CLIENT KILL does. */
  private async killPubsub(): Promise<void> {
    const ports = this.stack.redis
      ? [this.stack.redis.port]
      : (await this.stack.cluster!.masters()).map((m) => m.port);
    for (const port of ports) {
      const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, lazyConnect: true });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      } finally {
        client.disconnect();
      }
    }
  }
}

function slowLink(kind: FaultKind, target: string, link: Link, random: Random): Fault {
  return {
    kind,
    target,
    run: async () => {
      link.slow(random.int(100, 1000));
      await pause(random.int(1000, 5000));
      link.resume();
    },
  };
}

function cutLink(kind: FaultKind, target: string, link: Link, random: Random): Fault {
  return {
    kind,
    target,
    run: async () => {
      link.down();
      await pause(random.int(500, 4000));
      link.resume();
    },
  };
}
