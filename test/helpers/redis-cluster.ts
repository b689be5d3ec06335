import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import calculateSlot from 'cluster-key-slot';
import Redis, { Cluster } from 'ioredis';
import type { RedisClusterConfig } from '../../src/core/config';
import { redisServerArgs, untilRedisAnswers } from './redis';
import { waitFor, within } from './wait';

const run = promisify(execFile);

/**
 * A node's failover starts after this much silence. Redis's default is 15 s; tests wait
 * for failovers, so a short one keeps them short (a real deployment keeps its default).
 */
const NODE_TIMEOUT_MS = 1000;

/** One line of CLUSTER NODES. */
/** How long a switch-over waits for its replica to take over before it asks again. */
const FAILOVER_RETRY_MS = 5000;

export interface ClusterNodeInfo {
  readonly id: string;
  readonly port: number;
  readonly master: boolean;
  /** The node id of its master, for a replica. */
  readonly masterId: string | undefined;
  readonly failed: boolean;
  /** Slots it owns, as [first, last] ranges (masters only). */
  readonly slots: ReadonlyArray<readonly [number, number]>;
}

/**
 * A private Redis Cluster for one test file: three masters and three replicas on free
 * ports, each in its own directory, created with `redis-cli --cluster create` as an
 * operator would. Tests can kill a master (its replica takes over) and move slots.
 */
export class TestRedisCluster {
  private readonly procs = new Map<number, ChildProcess>();
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'swarmcast-redis-cluster-'));

  private constructor(readonly ports: readonly number[]) {}

  static async start(): Promise<TestRedisCluster> {
    const cluster = new TestRedisCluster(await clusterPorts());
    try {
      await Promise.all(cluster.ports.map((port) => cluster.launch(port)));
      await run(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...cluster.ports.map((port) => `127.0.0.1:${port}`),
          '--cluster-replicas',
          '1',
          '--cluster-yes',
        ],
        // It waits for the nodes to meet over the bus; a bus that cannot listen would hang it.
        { timeout: 60_000 },
      );
      await cluster.untilHealthy();
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  /** REDIS_CLUSTER_NODES for a node: every port as a seed. */
  get seeds(): string {
    return this.ports.map((port) => `127.0.0.1:${port}`).join(',');
  }

  get config(): RedisClusterConfig {
    return {
      nodes: this.ports.map((port) => ({ host: '127.0.0.1', port })),
      natMap: {},
      username: undefined,
      password: undefined,
      tls: false,
    };
  }

  /** A command client for the whole cluster; the caller quits it. */
  client(): Cluster {
    const client = new Cluster(
      this.live().map((port) => ({ host: '127.0.0.1', port })),
      { slotsRefreshInterval: 500 },
    );
    client.on('error', () => {});
    return client;
  }

  /** A client for one node; the caller quits it. */
  node(port: number): Redis {
    const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, lazyConnect: false });
    client.on('error', () => {});
    return client;
  }

  /** The process id of the server on `port`, while it runs (the bench reads its CPU time). */
  pid(port: number): number | undefined {
    return this.procs.get(port)?.pid;
  }

  /** The ports whose process runs. */
  live(): number[] {
    return this.ports.filter((port) => this.procs.has(port));
  }

  /** CLUSTER NODES as one live node sees it. */
  async nodes(): Promise<ClusterNodeInfo[]> {
    const client = this.node(this.live()[0]!);
    try {
      return parseNodes((await client.cluster('NODES')) as string);
    } finally {
      client.disconnect();
    }
  }

  async masters(): Promise<ClusterNodeInfo[]> {
    return (await this.nodes()).filter((node) => node.master && !node.failed);
  }

  /** The master that owns `key`'s slot now. */
  async ownerOf(key: string): Promise<ClusterNodeInfo> {
    const slot = calculateSlot(key);
    const owner = (await this.masters()).find((node) =>
      node.slots.some(([first, last]) => slot >= first && slot <= last),
    );
    if (!owner) throw new Error(`no master owns slot ${slot}`);
    return owner;
  }

  /**
   * Every live node answers `cluster_state:ok`, all agree on which master owns each
   * slot, and every master has a replica whose link is up.
   */
  async untilHealthy(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        const views = await Promise.all(
          this.live().map(async (port) => {
            const client = this.node(port);
            try {
              const info = (await client.cluster('INFO')) as string;
              const nodes = parseNodes((await client.cluster('NODES')) as string);
              const replication = await client.info('replication');
              return { port, ok: info.includes('cluster_state:ok'), nodes, replication };
            } finally {
              client.disconnect();
            }
          }),
        );
        if (!views.every((view) => view.ok)) return false;
        const owners = (nodes: ClusterNodeInfo[]) =>
          JSON.stringify(
            nodes
              .filter((node) => node.master && !node.failed)
              .map((node) => [node.id, node.slots])
              .sort(),
          );
        const reference = owners(views[0]!.nodes);
        if (!views.every((view) => owners(view.nodes) === reference)) return false;
        const masters = views[0]!.nodes.filter((node) => node.master && !node.failed);
        if (masters.length !== 3) return false;
        // Every replica is synced with its master.
        const replicas = views.filter((view) => view.replication.includes('role:slave'));
        return replicas.every((view) => view.replication.includes('master_link_status:up'));
      },
      'the Redis Cluster to be healthy',
      timeoutMs,
    );
  }

  /**
   * `replica` takes over its master (CLUSTER FAILOVER), as an operator's switch-over does.
   * FAILOVER answers before the switch, and a replica that cannot catch up with its busy
   * master within Redis's manual-failover timeout gives up silently: this asks again every
   * few seconds while `replica` is still one, and resolves once every live node sees it as
   * a master and the cluster is healthy, so the next look at the roles is not from before it.
   */
  async switchOver(replica: ClusterNodeInfo): Promise<void> {
    let askedAt = 0;
    await waitFor(
      async () => {
        const client = this.node(replica.port);
        try {
          const [role] = (await client.call('ROLE')) as [string];
          if (role === 'slave' && Date.now() - askedAt > FAILOVER_RETRY_MS) {
            askedAt = Date.now();
            await client.cluster('FAILOVER');
          }
          if (role !== 'master') return false;
        } finally {
          client.disconnect();
        }
        const views = await Promise.all(
          this.live().map(async (port) => {
            const viewer = this.node(port);
            try {
              return parseNodes((await viewer.cluster('NODES')) as string);
            } finally {
              viewer.disconnect();
            }
          }),
        );
        return views.every((nodes) =>
          nodes.some((node) => node.id === replica.id && node.master && !node.failed),
        );
      },
      `node ${replica.port} to be a master in every node's view`,
      30_000,
    );
    await this.untilHealthy();
  }

  /**
   * `kill -9` of the master that owns `key`; resolves once its replica has taken over
   * and the cluster is ok again (the dead node stays down).
   */
  async killMasterOf(key: string): Promise<number> {
    const owner = await this.ownerOf(key);
    const proc = this.procs.get(owner.port);
    if (!proc) throw new Error(`no process on port ${owner.port}`);
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    await within(exited, 'the killed master to exit', 5000);
    this.procs.delete(owner.port);
    await waitFor(
      async () => {
        const now = await this.ownerOf(key).catch(() => undefined);
        return now !== undefined && now.port !== owner.port;
      },
      'a replica to take over the killed master',
      30_000,
    );
    return owner.port;
  }

  /**
   * Moves the slot of `key` to another master with `redis-cli --cluster reshard`, which
   * moves a master's lowest slots first: `key` must hash to its master's first slot
   * (see `keyAtFirstSlot`). Resolves once the cluster agrees on the new owner.
   */
  async reshardSlotOf(key: string): Promise<{ from: number; to: number }> {
    const owner = await this.ownerOf(key);
    const slot = calculateSlot(key);
    if (owner.slots[0]?.[0] !== slot) throw new Error(`slot ${slot} is not the first of its master`);
    const target = (await this.masters()).find((node) => node.id !== owner.id)!;
    await run('redis-cli', [
      '--cluster',
      'reshard',
      `127.0.0.1:${owner.port}`,
      '--cluster-from',
      owner.id,
      '--cluster-to',
      target.id,
      '--cluster-slots',
      '1',
      '--cluster-yes',
    ]);
    await waitFor(async () => (await this.ownerOf(key)).id === target.id, 'the slot to move', 15_000);
    return { from: owner.port, to: target.port };
  }

  /**
   * Starts every killed node again with its cluster state: it rejoins as a replica of
   * the master that took over. Resolves once the cluster is healthy (three masters,
   * each replica in sync) for the next test.
   */
  async revive(): Promise<void> {
    const dead = this.ports.filter((port) => !this.procs.has(port));
    await Promise.all(dead.map((port) => this.launch(port)));
    await this.untilHealthy();
  }

  /** The first slot of each master, so a test can put a room where reshard will move it. */
  async firstSlots(): Promise<number[]> {
    return (await this.masters()).map((node) => node.slots[0]![0]);
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.procs.entries()].map(async ([port, proc]) => {
        if (proc.exitCode !== null) return;
        const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
        proc.kill('SIGKILL');
        await within(exited, `redis-server ${port} to stop`, 10_000);
      }),
    );
    this.procs.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(port: number): Promise<void> {
    const dir = path.join(this.dir, String(port));
    mkdirSync(dir, { recursive: true });
    const proc = spawn(
      'redis-server',
      [
        ...redisServerArgs(port, dir, 'everysec'),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        path.join(dir, 'nodes.conf'),
        '--cluster-node-timeout',
        String(NODE_TIMEOUT_MS),
        // AOF off: six servers on a shared machine; durability here comes from replicas.
        '--appendonly',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.procs.set(port, proc);
    const output: string[] = [];
    proc.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    proc.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    await untilRedisAnswers(`redis://127.0.0.1:${port}`, proc, () => output.join(''));
  }
}

/** Whether nothing listens on `port` of 127.0.0.1 now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Six ports in a row whose cluster bus ports (port + 10000) are free too. Both stay below
 * Linux's ephemeral range (32768 and up), from which every other test's free port comes,
 * so no other server can take a bus port between this check and the start.
 */
async function clusterPorts(): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + 6 * Math.floor(Math.random() * 400);
    const ports = Array.from({ length: 6 }, (_, i) => base + i);
    const free = await Promise.all(ports.flatMap((port) => [portFree(port), portFree(port + 10_000)]));
    if (free.every(Boolean)) return ports;
  }
  throw new Error('no six free ports with free cluster bus ports between 20000 and 32400');
}

/** A room name whose hash tag puts its keys on `slot` (found by trying names; about 16k tries). */
export function roomAtSlot(slot: number, base: string, tag: (room: string) => string): string {
  for (let n = 0; ; n++) {
    const room = `${base}-${n}`;
    if (calculateSlot(tag(room)) === slot) return room;
  }
}

function parseNodes(text: string): ClusterNodeInfo[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flags, masterId, , , , , ...slots] = line.split(' ');
      const port = Number(address!.split('@')[0]!.split(':')[1]);
      const flagList = flags!.split(',');
      return {
        id: id!,
        port,
        master: flagList.includes('master'),
        masterId: masterId === '-' ? undefined : masterId,
        failed: flagList.includes('fail') || flagList.includes('fail?'),
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => {
            const [first, last] = s.split('-').map(Number);
            return [first!, last ?? first!] as const;
          }),
      };
    });
}
