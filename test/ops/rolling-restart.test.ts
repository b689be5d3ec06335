import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode } from '../../src/core/errors';
import { uniquePrefix } from '../helpers/nodes';
import { type NodeProcess, spawnNode } from '../helpers/process';
import { TestRedis } from '../helpers/redis';
import { TcpProxy } from '../helpers/tcp-proxy';
import { waitFor, within } from '../helpers/wait';
import { destroyAll } from '../yjs/yjs-helpers';
import { RecordingClient } from './recording-client';
import { scrape } from './scrape';
import { assertDocumentsConverge, Editor } from './yjs-editors';

const CLIENTS = 9;
const EDITORS = 3;

/** A cluster of node processes on one private Redis, behind a round-robin TCP proxy. */
class ProxiedCluster {
  nodes: NodeProcess[] = [];
  private readonly all: NodeProcess[] = [];

  private constructor(
    readonly redis: TestRedis,
    readonly proxy: TcpProxy,
    private readonly env: Record<string, string>,
  ) {}

  static async start(count: number): Promise<ProxiedCluster> {
    const redis = await TestRedis.start();
    const env = {
      REDIS_URL: redis.url,
      KEY_PREFIX: uniquePrefix('ops'),
      DRAIN_TIMEOUT_MS: '3000',
      // Quick death detection, so the kill -9 test sees the reaper within a second or two.
      HEARTBEAT_MS: '250',
      NODE_TTL_MS: '1000',
      // Small, so that the Yjs log is compacted several times while the nodes restart.
      YJS_COMPACT_ENTRIES: '50',
    };
    const cluster = new ProxiedCluster(redis, await TcpProxy.start(), env);
    for (let i = 0; i < count; i++) await cluster.spawn();
    return cluster;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.proxy.port}/events`;
  }

  /** Starts a node and puts it behind the proxy, as Swarm does with a new task once it runs. */
  async spawn(): Promise<NodeProcess> {
    const node = await spawnNode(this.env);
    this.all.push(node);
    this.nodes.push(node);
    this.proxy.add(node.port);
    return node;
  }

  /** Takes a node out of the proxy and off the list, as Swarm does before it signals a task. */
  retire(node: NodeProcess): void {
    this.proxy.remove(node.port);
    this.nodes = this.nodes.filter((n) => n !== node);
  }

  async close(): Promise<void> {
    await this.proxy.close();
    for (const node of this.all) {
      if (node.proc.exitCode === null && node.proc.signalCode === null) node.kill('SIGKILL');
      await node.exited;
    }
    await this.redis.close();
  }
}

async function startClients(cluster: ProxiedCluster, room: string): Promise<RecordingClient[]> {
  const clients: RecordingClient[] = [];
  for (let i = 0; i < CLIENTS; i++) clients.push(await RecordingClient.start(cluster.url, room, `c${i}`));
  return clients;
}

async function startEditors(cluster: ProxiedCluster, room: string): Promise<Editor[]> {
  const editors: Editor[] = [];
  for (let i = 0; i < EDITORS; i++) editors.push(await Editor.start(cluster.proxy.port, room, `e${i}`));
  return editors;
}

/** The sum of a metric over every running node. */
async function clusterMetric(cluster: ProxiedCluster, name: string, labels: Record<string, string> = {}) {
  let sum = 0;
  for (const node of cluster.nodes) sum += (await scrape(node.port)).value(name, labels);
  return sum;
}

/** Waits until every client is connected and has had a message acknowledged since `marks`. */
async function allSending(clients: RecordingClient[], what: string): Promise<void> {
  const marks = clients.map((c) => c.acked.length);
  await waitFor(
    () => clients.every((c, i) => c.connected && c.acked.length >= marks[i]! + 2),
    `every client ${what}`,
    15_000,
  );
}

/**
 * Stops the traffic, then checks that every client holds every acknowledged event (of
 * every client), each once and in offset order, with nothing it could not recover.
 */
async function assertNothingLost(clients: RecordingClient[]): Promise<number> {
  for (const client of clients) await client.stopSending();
  const acked = [...new Set(clients.flatMap((c) => c.acked))].sort((a, b) => a - b);
  const last = acked.at(-1)!;
  await waitFor(
    () => clients.every((c) => c.connected && (c.offsets().at(-1) ?? 0) >= last),
    'every client to reach the last acknowledged offset',
    15_000,
  );
  for (const client of clients) {
    const missing = acked.filter((offset) => !client.received.has(offset));
    assert.deepEqual(missing, [], `${client.name} misses acknowledged events`);
    assert.deepEqual(client.duplicates, [], `${client.name} got events twice`);
    assert.deepEqual(
      client.gaps,
      [],
      `${client.name} got events out of order: ${JSON.stringify(client.gaps)} closes ${client.closeCodes} nodes ${client.nodes}`,
    );
    assert.deepEqual(client.unrecovered, [], `${client.name} could not recover after reconnecting`);
    for (const offset of acked) assert.equal(client.received.get(offset)?.type, 'chat.message');
  }
  return acked.length;
}

describe('a rolling restart behind a round-robin TCP proxy', () => {
  let cluster: ProxiedCluster;
  let clients: RecordingClient[] = [];
  before(async () => {
    cluster = await ProxiedCluster.start(3);
  });
  after(async () => {
    for (const client of clients) client.close();
    destroyAll();
    await cluster.close();
  });

  it('moves every client to a new node on SIGTERM, one node at a time: no acknowledged event or Yjs update lost', async () => {
    clients = await startClients(cluster, 'rolling');
    const original = [...cluster.nodes];
    const counts = original.map((node) => clients.filter((c) => c.nodes[0] === node.id).length);
    assert.deepEqual(counts, [3, 3, 3], 'round-robin spreads the clients evenly');
    const editors = await startEditors(cluster, 'rolling-doc');
    assert.equal(await clusterMetric(cluster, 'swarmcast_connections', { protocol: 'yjs' }), EDITORS);
    for (const client of clients) client.startSending();
    for (const editor of editors) editor.startEditing();
    await allSending(clients, 'to send');

    const reconnectMs: number[] = [];
    for (const old of original) {
      await cluster.spawn(); // start-first: the replacement runs before the old task stops
      cluster.retire(old);
      const moved = clients.filter((c) => c.nodes.at(-1) === old.id);
      const signalled = Date.now();
      old.kill('SIGTERM');
      assert.equal((await within(old.exited, `${old.id} to exit`, 10_000)).code, 0);
      await waitFor(
        () => moved.every((c) => c.connected && c.nodes.at(-1) !== old.id),
        'moved clients back',
        15_000,
      );
      reconnectMs.push(Date.now() - signalled);
      assert.ok(
        old.lines.some((line) => line.includes('"drained"')),
        `${old.id} drained`,
      );
      await allSending(clients, `to send again after ${old.id} stopped`);
    }

    const total = await assertNothingLost(clients);
    const survivors = new Set(cluster.nodes.map((n) => n.id));
    for (const client of clients) {
      assert.ok(client.connections >= 2, `${client.name} reconnected`);
      assert.ok(survivors.has(client.nodes.at(-1)!), `${client.name} ends on a new node`);
      assert.ok(
        client.closeCodes.every((code) => code === CloseCode.ServiceRestart),
        `${client.closeCodes}`,
      );
    }
    for (const editor of editors) assert.ok(editor.connects >= 2, `${editor.name} reconnected`);
    const edits = await assertDocumentsConverge(editors, cluster.proxy.port, 'rolling-doc');
    console.log(
      `# rolling restart: ${total} acknowledged events, all delivered to all ${CLIENTS} clients; ` +
        `${edits} Yjs edits in all ${EDITORS} documents and in the stored one; ` +
        `SIGTERM to every moved client rejoined: ${reconnectMs.join(', ')} ms`,
    );
  });
});

describe('kill -9 of one node behind a round-robin TCP proxy', () => {
  let cluster: ProxiedCluster;
  let clients: RecordingClient[] = [];
  before(async () => {
    cluster = await ProxiedCluster.start(3);
  });
  after(async () => {
    for (const client of clients) client.close();
    destroyAll();
    await cluster.close();
  });

  it('reconnects its clients to the survivors, removes its members, loses no acknowledged event or Yjs update', async () => {
    clients = await startClients(cluster, 'killed');
    const editors = await startEditors(cluster, 'killed-doc');
    for (const client of clients) client.startSending();
    for (const editor of editors) editor.startEditing();
    await allSending(clients, 'to send');

    const victim = cluster.nodes[1]!;
    const orphans = clients.filter((c) => c.nodes.at(-1) === victim.id);
    assert.equal(orphans.length, 3);
    const killed = Date.now();
    // The proxy keeps the dead port in its list: refused connections go to the next node.
    victim.kill('SIGKILL');
    assert.equal((await within(victim.exited, 'the killed node to exit')).signal, 'SIGKILL');
    await waitFor(
      () => orphans.every((c) => c.connected && c.nodes.at(-1) !== victim.id),
      'orphans to reconnect',
      15_000,
    );
    const reconnectMs = Date.now() - killed;
    for (const client of orphans) assert.equal(client.closeCodes.at(-1), 1006);
    await allSending(clients, 'to send after the kill');

    // Survivors notice the missing heartbeat and announce the dead node's members as gone.
    const bystander = clients.find((c) => !orphans.includes(c))!;
    const left = await waitFor(
      () => {
        const gone = [...bystander.received.values()].filter(
          (f) => f.type === 'room.member.left' && (f.data as { node: string }).node === victim.id,
        );
        return gone.length >= orphans.length ? gone : undefined;
      },
      'room.member.left for the dead node’s members',
      10_000,
    );
    const reapedMs = Date.now() - killed;
    assert.equal(left.length, orphans.length);

    // Swarm's restart policy starts a replacement; new connections reach it too.
    cluster.retire(victim);
    await cluster.spawn();
    const total = await assertNothingLost(clients);
    const compactions = await clusterMetric(cluster, 'swarmcast_yjs_compactions_total', { result: 'ok' });
    assert.ok(compactions > 0, 'the Yjs log was compacted while editing');
    const edits = await assertDocumentsConverge(editors, cluster.proxy.port, 'killed-doc');
    console.log(
      `# kill -9: ${total} acknowledged events, none lost; ${edits} Yjs edits converged and stored ` +
        `(${compactions} compactions on the survivors); orphans rejoined after ${reconnectMs} ms; ` +
        `dead members announced after ${reapedMs} ms`,
    );
  });
});
