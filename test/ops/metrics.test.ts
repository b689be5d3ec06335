import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SharedMemory } from '../../src/backend/memory/shared-memory';
import { ErrorCode } from '../../src/core/errors';
import { metricsExtension } from '../../src/modules/metrics/metrics-extension';
import { yjsMetrics } from '../../src/modules/yjs/yjs-metrics';
import type { SwarmNode } from '../../src/node';
import { JsonClient } from '../helpers/client';
import { eventsUrl, startNodes } from '../helpers/nodes';
import { spawnNode } from '../helpers/process';
import { TestRedis } from '../helpers/redis';
import { startRedisNodes } from '../helpers/redis-nodes';
import { waitFor } from '../helpers/wait';
import { parseMetrics, scrape } from './scrape';

describe('GET /metrics', () => {
  let cluster: SharedMemory;
  let nodes: SwarmNode[];
  const clients: JsonClient[] = [];
  const connect = async (node: SwarmNode) => {
    const client = await JsonClient.connect(eventsUrl(node));
    clients.push(client);
    return client;
  };

  before(async () => {
    cluster = new SharedMemory(1000);
    nodes = await startNodes(2, { cluster, extensions: [metricsExtension()] });
  });
  after(async () => {
    for (const client of clients) client.socket.terminate();
    for (const node of nodes) await node.close();
  });

  it('answers in the Prometheus text format with this node as a label', async () => {
    const metrics = await scrape(nodes[0]!.port);
    assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4/);
    for (const name of [
      'swarmcast_connections',
      'swarmcast_rooms',
      'swarmcast_backend_up',
      'swarmcast_draining',
      'swarmcast_drains_total',
    ]) {
      assert.ok(metrics.has(name), name);
    }
    assert.ok(metrics.samples.every((s) => s.labels.node === nodes[0]!.id));
    assert.equal(metrics.value('swarmcast_backend_up'), 1);
  });

  it('moves connections, rooms and events in, out and delivered with traffic, per node', async () => {
    const [a, b] = nodes as [SwarmNode, SwarmNode];
    const beforeA = await scrape(a.port);
    const beforeB = await scrape(b.port);
    const onA = [await connect(a), await connect(a)];
    const onB = await connect(b);
    for (const client of [...onA, onB]) await client.join('metrics-1');
    const sent = 5;
    for (let i = 0; i < sent; i++) {
      await onA[0]!.request('chat.message', { room: 'metrics-1', data: { text: `m${i}` } });
    }
    await waitFor(() => onB.events('metrics-1', 'chat.message').length === sent, 'chat on node b');

    const afterA = await scrape(a.port);
    const afterB = await scrape(b.port);
    const delta = (after: typeof afterA, before: typeof afterA, name: string, labels = {}) =>
      after.value(name, labels) - before.value(name, labels);
    assert.equal(afterA.value('swarmcast_connections', { protocol: 'json' }), 2);
    assert.equal(afterB.value('swarmcast_connections', { protocol: 'json' }), 1);
    assert.equal(delta(afterA, beforeA, 'swarmcast_connections_opened_total', { protocol: 'json' }), 2);
    assert.equal(afterA.value('swarmcast_rooms'), 1);
    const chat = { type: 'chat.message', scope: 'room' };
    assert.equal(delta(afterA, beforeA, 'swarmcast_events_in_total', { ...chat, source: 'client' }), sent);
    assert.equal(delta(afterA, beforeA, 'swarmcast_events_out_total', chat), sent);
    assert.equal(delta(afterB, beforeB, 'swarmcast_events_in_total', { ...chat, source: 'bus' }), sent);
    assert.equal(delta(afterB, beforeB, 'swarmcast_events_out_total', chat), 0);
    // Node a delivers each message to its two members, node b to its one.
    assert.equal(
      delta(afterA, beforeA, 'swarmcast_events_delivered_total', { type: 'chat.message' }),
      2 * sent,
    );
    assert.equal(delta(afterB, beforeB, 'swarmcast_events_delivered_total', { type: 'chat.message' }), sent);
    assert.equal(
      delta(afterA, beforeA, 'swarmcast_events_in_total', { type: 'room.join', scope: 'local' }),
      2,
    );

    for (const client of onA) await client.close();
    await waitFor(
      async () => (await scrape(a.port)).value('swarmcast_connections') === 0,
      'connections to fall',
    );
    await waitFor(async () => (await scrape(a.port)).value('swarmcast_rooms') === 0, 'rooms to fall');
  });

  it('counts refused frames by declared type and code, and undeclared types as unknown', async () => {
    const [a] = nodes as [SwarmNode];
    const before = await scrape(a.port);
    const client = await connect(a);
    assert.equal((await client.expectError({ type: 'no.such.type', data: {} })).code, ErrorCode.UnknownType);
    assert.equal((await client.expectError({ type: 'made.up', data: {} })).code, ErrorCode.UnknownType);
    const notJoined = await client.expectError({
      type: 'chat.message',
      room: 'elsewhere',
      data: { text: 'x' },
    });
    assert.equal(notJoined.code, ErrorCode.NotJoined);
    const metrics = await scrape(a.port);
    const failed = (labels: Record<string, string>) =>
      metrics.value('swarmcast_events_failed_total', labels) -
      before.value('swarmcast_events_failed_total', labels);
    assert.equal(failed({ type: 'unknown', code: ErrorCode.UnknownType }), 2);
    assert.equal(failed({ type: 'chat.message', code: ErrorCode.NotJoined }), 1);
    assert.ok(!metrics.samples.some((s) => s.labels.type === 'no.such.type'));
  });

  it('counts a gap in a room stream repaired from history', async () => {
    const [a, b] = nodes as [SwarmNode, SwarmNode];
    const sender = await connect(a);
    const reader = await connect(b);
    await sender.join('metrics-gap');
    await reader.join('metrics-gap');
    const before = await scrape(b.port);
    // An event appended without being published: node b sees the next offset jump over it.
    cluster.append(
      { type: 'chat.message', room: 'metrics-gap', data: { text: 'lost' }, from: { node: 'x' } },
      'events',
    );
    await sender.request('chat.message', { room: 'metrics-gap', data: { text: 'after' } });
    await waitFor(() => reader.events('metrics-gap', 'chat.message').length === 2, 'both messages on b');
    const metrics = await scrape(b.port);
    const delta = (name: string) =>
      metrics.value(name, { stream: 'events' }) - before.value(name, { stream: 'events' });
    assert.equal(delta('swarmcast_gaps_repaired_total'), 1);
    // The read runs up to the stream's head: the lost event and the one held back behind it.
    assert.equal(delta('swarmcast_gap_events_repaired_total'), 2);
  });

  it('shows the Redis timings and Yjs figures that the backend and the Yjs module report', async () => {
    const [a] = nodes as [SwarmNode];
    a.metrics.backend.call('publish', 0.003, true);
    a.metrics.backend.call('read', 0.0004, true);
    a.metrics.backend.call('write', 5, false);
    // What the Yjs module adds to the node's registry when it installs (these nodes have no Yjs module).
    const yjs = yjsMetrics(a.metrics.registry);
    yjs.logSize(120, 40_000);
    yjs.compacted(0.02, 120);
    yjs.compactionFailed();
    const metrics = await scrape(a.port);
    assert.equal(metrics.value('swarmcast_redis_publish_seconds_count'), 1);
    assert.equal(metrics.value('swarmcast_redis_publish_seconds_bucket', { le: '0.0025' }), 0);
    assert.equal(metrics.value('swarmcast_redis_publish_seconds_bucket', { le: '0.005' }), 1);
    assert.equal(metrics.value('swarmcast_redis_roundtrip_seconds_count', { kind: 'read' }), 1);
    assert.equal(metrics.value('swarmcast_redis_roundtrip_seconds_count', { kind: 'write' }), 0);
    assert.equal(metrics.value('swarmcast_redis_errors_total', { kind: 'write' }), 1);
    assert.equal(metrics.value('swarmcast_yjs_log_updates_sum'), 120);
    assert.equal(metrics.value('swarmcast_yjs_log_bytes_sum'), 40_000);
    assert.equal(metrics.value('swarmcast_yjs_compactions_total', { result: 'ok' }), 1);
    assert.equal(metrics.value('swarmcast_yjs_compactions_total', { result: 'failed' }), 1);
    assert.equal(metrics.value('swarmcast_yjs_compacted_updates_total'), 120);
  });
});

describe('GET /metrics over Redis', () => {
  let redis: TestRedis;
  let nodes: SwarmNode[];
  before(async () => {
    redis = await TestRedis.start();
    nodes = await startRedisNodes(2, redis.url, { extensions: [metricsExtension()] });
  });
  after(async () => {
    for (const node of nodes) await node.close();
    await redis.close();
  });

  it('times publishes and round trips to Redis, and counts failed calls while Redis is away', async () => {
    const [a, b] = nodes as [SwarmNode, SwarmNode];
    const sender = await JsonClient.connect(eventsUrl(a));
    const reader = await JsonClient.connect(eventsUrl(b));
    await sender.join('metrics-redis');
    await reader.join('metrics-redis');
    const before = await scrape(a.port);
    for (let i = 0; i < 10; i++)
      await sender.request('chat.message', { room: 'metrics-redis', data: { text: `${i}` } });
    await waitFor(() => reader.events('metrics-redis', 'chat.message').length === 10, 'the messages on b');
    const after = await scrape(a.port);
    const published =
      after.value('swarmcast_redis_publish_seconds_count') -
      before.value('swarmcast_redis_publish_seconds_count');
    assert.ok(published >= 10, `${published} publishes timed`);
    assert.ok(
      after.value('swarmcast_redis_publish_seconds_sum') >
        before.value('swarmcast_redis_publish_seconds_sum'),
    );
    assert.ok(after.value('swarmcast_redis_roundtrip_seconds_count', { kind: 'read' }) > 0);
    assert.equal(after.value('swarmcast_backend_up'), 1);
    assert.equal(after.value('swarmcast_redis_errors_total'), 0);

    await redis.stop();
    await waitFor(
      async () => (await scrape(a.port)).value('swarmcast_backend_up') === 0,
      'backend_up to turn 0',
    );
    await sender.expectError({ type: 'chat.message', room: 'metrics-redis', data: { text: 'x' } });
    const down = await scrape(a.port);
    assert.ok(down.value('swarmcast_redis_errors_total', { kind: 'publish' }) >= 1);
    await redis.restart();
    await waitFor(
      async () => (await scrape(a.port)).value('swarmcast_backend_up') === 1,
      'backend_up back to 1',
      10_000,
    );
    sender.socket.terminate();
    reader.socket.terminate();
  });
});

describe('GET /metrics of `npm start`', () => {
  it('serves the node figures and the process figures, and the admin API stays off without a token', async () => {
    const node = await spawnNode();
    try {
      const before = await scrape(node.port);
      assert.ok(before.has('process_resident_memory_bytes'));
      assert.ok(before.has('nodejs_eventloop_lag_seconds'));
      assert.equal(before.value('swarmcast_connections'), 0);
      const client = await JsonClient.connect(eventsUrl(node.port));
      await client.join('metrics-process');
      const after = await scrape(node.port);
      assert.equal(after.value('swarmcast_connections', { protocol: 'json' }), 1);
      assert.equal(after.value('swarmcast_rooms'), 1);
      assert.ok(after.samples.every((s) => s.labels.node === node.id));
      assert.equal((await fetch(`http://127.0.0.1:${node.port}/api/nodes`)).status, 404);
      await client.close();
    } finally {
      node.kill('SIGTERM');
      await node.exited;
    }
  });
});

describe('drain metrics', () => {
  it('counts a drain and how long it took', async () => {
    const [node] = await startNodes(1, { extensions: [metricsExtension()] });
    const client = await JsonClient.connect(eventsUrl(node!));
    await node!.drain(2000);
    await client.closed;
    const metrics = parseMetrics(await node!.metrics.expose());
    const value = (name: string) => metrics.find((s) => s.name === name)?.value;
    assert.equal(value('swarmcast_drains_total'), 1);
    assert.equal(value('swarmcast_drain_seconds_count'), 1);
    assert.equal(value('swarmcast_drain_timeouts_total'), 0);
    assert.equal(value('swarmcast_draining'), 1);
  });
});
