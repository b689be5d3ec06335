import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Room, SwarmClient, SwarmClientError } from '../../src/client';
import { CloseCode } from '../../src/core/errors';
import type { handlers } from '../../src/modules/handlers';
import { LibraryClients, offsetsOf, recordEvents, recordStates, type Seen } from '../helpers/library-client';
import { uniquePrefix } from '../helpers/nodes';
import { type NodeProcess, spawnNode } from '../helpers/process';
import { TestRedis } from '../helpers/redis';
import { TcpProxy } from '../helpers/tcp-proxy';
import { waitFor, within } from '../helpers/wait';

type AppEvents = typeof handlers;

/** Two node processes (`node dist/src/main.js`) on a private redis-server, behind a round-robin TCP proxy. */
class Cluster {
  readonly nodes: NodeProcess[] = [];
  redis: TestRedis | undefined;
  proxy: TcpProxy | undefined;

  async start(): Promise<void> {
    this.redis = await TestRedis.start();
    const env = {
      REDIS_URL: this.redis.url,
      KEY_PREFIX: uniquePrefix('client'),
      DRAIN_TIMEOUT_MS: '3000',
      // Quick death detection: the dead node's members are announced gone within a second or two.
      HEARTBEAT_MS: '250',
      NODE_TTL_MS: '1000',
    };
    // One at a time into `nodes`, so that `stop` ends whatever did start.
    this.nodes.push(await spawnNode({ ...env, NODE_ID: uniquePrefix('one') }));
    this.nodes.push(await spawnNode({ ...env, NODE_ID: uniquePrefix('two') }));
    this.proxy = await TcpProxy.start(this.nodes.map((node) => node.port));
  }

  get proxyUrl(): string {
    return `ws://127.0.0.1:${this.proxy!.port}/events`;
  }

  url(node: NodeProcess): string {
    return `ws://127.0.0.1:${node.port}/events`;
  }

  async stop(): Promise<void> {
    await this.proxy?.close();
    for (const node of this.nodes) {
      if (node.proc.exitCode === null && node.proc.signalCode === null) node.kill('SIGKILL');
      await node.exited;
    }
    await this.redis?.close();
  }
}

/** One app: a client in the room, sending a chat line every few ms without waiting for the last ack. */
class Streamer {
  readonly room: Room<AppEvents>;
  readonly seen: Seen[];
  readonly acked: number[] = [];
  readonly rejected: string[] = [];
  sent = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly client: SwarmClient<AppEvents>,
    room: string,
    readonly name: string,
  ) {
    this.room = client.join(room);
    this.seen = recordEvents(this.room, ['chat.message', 'room.member.joined', 'room.member.left']);
  }

  get node(): string | undefined {
    return this.client.state.status === 'open' ? this.client.state.welcome.node : undefined;
  }

  get settled(): number {
    return this.acked.length + this.rejected.length;
  }

  /** A steady trickle with several emits in flight at once, not a flood: the test is about reconnecting. */
  start(everyMs = 10): void {
    this.timer = setInterval(() => {
      this.sent++;
      this.room.emit('chat.message', { text: `${this.name}:${this.sent}` }).then(
        (ack) => this.acked.push(ack.offset),
        (err: SwarmClientError) => this.rejected.push(err.code),
      );
    }, everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

describe('the client library when the node it is connected to is killed (kill -9)', () => {
  const cluster = new Cluster();
  const clients = new LibraryClients();
  before(() => cluster.start());
  after(async () => {
    clients.closeAll();
    await cluster.stop();
  });

  it('resumes on the other node: every event once and in order, every emit in flight resent and stored once', async (t) => {
    const room = uniquePrefix('stream');
    const streamers: Streamer[] = [];
    for (let i = 0; i < 4; i++) {
      const client = clients.open<AppEvents>({ url: cluster.proxyUrl });
      const streamer = new Streamer(client, room, `s${i}`);
      await streamer.room.ready;
      streamers.push(streamer);
    }
    const [one, two] = cluster.nodes as [NodeProcess, NodeProcess];
    // Round-robin: two clients on each node.
    assert.deepEqual(
      streamers.map((s) => s.node),
      [one.id, two.id, one.id, two.id],
    );
    const states = streamers.map((s) => recordStates(s.client));
    for (const streamer of streamers) streamer.start();
    await waitFor(() => streamers.every((s) => s.acked.length >= 20), 'every client to send');

    const killedAt = Date.now();
    one.kill('SIGKILL');
    assert.equal((await within(one.exited, 'node one to die')).signal, 'SIGKILL');
    const orphans = [streamers[0]!, streamers[2]!];
    await waitFor(
      () => orphans.every((s) => s.node === two.id && s.room.status === 'joined'),
      'the orphans back in the room on node two',
      10_000,
    );
    t.diagnostic(`orphans rejoined on node two ${Date.now() - killedAt} ms after kill -9`);
    const marks = streamers.map((s) => s.acked.length);
    await waitFor(
      () => streamers.every((s, i) => s.acked.length >= marks[i]! + 20),
      'every client to send again',
    );
    for (const streamer of streamers) streamer.stop();

    // None hangs, none is lost: an emit in flight at the kill is resent with its id and acknowledged.
    await waitFor(() => streamers.every((s) => s.settled === s.sent), 'every emit to settle', 15_000);
    const allAcked = streamers.flatMap((s) => s.acked).sort((a, b) => a - b);
    const last = allAcked.at(-1)!;
    await waitFor(
      () => streamers.every((s) => (s.room.offset ?? 0) >= last),
      'every client to reach the last ack',
    );
    for (const [i, streamer] of streamers.entries()) {
      const { offsets, contiguous } = offsetsOf(streamer.seen);
      assert.ok(contiguous, `${streamer.name} saw offsets out of order or twice, or missed some`);
      const missing = allAcked.filter((offset) => offset > offsets[0]! && !offsets.includes(offset));
      assert.deepEqual(missing, [], `${streamer.name} misses acknowledged events`);
      assert.deepEqual(
        streamer.rejected,
        [],
        `${streamer.name}: no emit rejects, not even one in flight at the kill`,
      );
      // Exactly once: every line every streamer sent, once each, whether or not it was resent.
      const lines = streamer.seen
        .filter((s) => s.type === 'chat.message')
        .map((s) => (s.data as { text: string }).text);
      const sent = streamers.flatMap((s) => Array.from({ length: s.sent }, (_, n) => `${s.name}:${n + 1}`));
      assert.deepEqual([...lines].sort(), sent.sort(), `${streamer.name} saw every line exactly once`);
      if (orphans.includes(streamer)) {
        const closes = states[i]!.filter((s) => s.status === 'reconnecting').map((s) => s.lastClose.code);
        assert.equal(closes[0], 1006);
      }
    }
    const metrics = await (await fetch(`http://127.0.0.1:${two.port}/metrics`)).text();
    const repeats = metrics
      .split('\n')
      .filter((line) => line.startsWith('swarmcast_events_repeated_total{'))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    t.diagnostic(
      `${allAcked.length} acknowledged events, all seen by all 4 clients in order, each line once; ` +
        `${repeats} resends were of events already stored before the kill`,
    );
  });
});

describe('the client library when its node drains (SIGTERM)', () => {
  const cluster = new Cluster();
  const clients = new LibraryClients();
  before(() => cluster.start());
  after(async () => {
    clients.closeAll();
    await cluster.stop();
  });

  it('moves to the next url within 1 s, in the room again, with nothing missed', async (t) => {
    const [one, two] = cluster.nodes as [NodeProcess, NodeProcess];
    const room = uniquePrefix('drain');
    // Each client lists both nodes, its own first: a 1012 sends it to the next one at once.
    const mover = clients.open<AppEvents>({ urls: [cluster.url(one), cluster.url(two)] });
    const moverRoom = mover.join(room);
    const seen = recordEvents(moverRoom, ['chat.message']);
    const states = recordStates(mover);
    const stayer = clients.open<AppEvents>({ url: cluster.url(two) }).join(room);
    await Promise.all([moverRoom.ready, stayer.ready]);
    assert.equal(mover.state.status === 'open' && mover.state.welcome.node, one.id);
    const before = await stayer.emit('chat.message', { text: 'before' });

    const signalled = Date.now();
    one.kill('SIGTERM');
    const during = stayer.emit('chat.message', { text: 'during' });
    await waitFor(
      () =>
        mover.state.status === 'open' && mover.state.welcome.node === two.id && moverRoom.status === 'joined',
      'the client in the room on node two',
      5000,
    );
    const movedMs = Date.now() - signalled;
    t.diagnostic(`SIGTERM to rejoined on the next node: ${movedMs} ms`);
    assert.ok(movedMs < 1000, `moved in ${movedMs} ms`);
    const reconnecting = states.find((s) => s.status === 'reconnecting');
    assert.equal(
      reconnecting?.status === 'reconnecting' && reconnecting.lastClose.code,
      CloseCode.ServiceRestart,
    );
    assert.equal(reconnecting?.status === 'reconnecting' && reconnecting.delayMs, 0);
    const { offset: duringOffset } = await during;
    await waitFor(() => (moverRoom.offset ?? 0) >= duringOffset, 'the line sent during the drain');
    assert.deepEqual(
      seen.map((s) => (s.data as { text: string }).text),
      ['before', 'during'],
    );
    assert.equal(seen[0]!.meta.offset, before.offset);
    assert.equal((await within(one.exited, 'node one to exit', 10_000)).code, 0);
  });
});
