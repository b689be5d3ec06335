import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { handlers } from '../../src/modules/handlers';
import { metricsExtension } from '../../src/modules/metrics/metrics-extension';
import type { SwarmNode } from '../../src/node';
import { LibraryClients, recordEvents } from '../helpers/library-client';
import { eventsUrl, uniquePrefix } from '../helpers/nodes';
import { TestRedis } from '../helpers/redis';
import { startRedisNodes } from '../helpers/redis-nodes';
import { waitFor } from '../helpers/wait';

type AppEvents = typeof handlers;

/** The node's count of `type` frames it answered with `code`, from its /metrics. */
async function failures(node: SwarmNode, type: string, code: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${node.port}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('swarmcast_events_failed_total{') &&
        l.includes(`type="${type}"`) &&
        l.includes(`code="${code}"`),
    );
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('the client library resending an emit whose fate is unknown', () => {
  let redis: TestRedis;
  let nodes: SwarmNode[] = [];
  const clients = new LibraryClients();
  before(async () => {
    redis = await TestRedis.start();
  });
  /** Stops Redis for the test; afterEach brings it back whatever happened. */
  let stopped = false;
  const stopRedis = async () => {
    stopped = true;
    await redis.stop();
  };
  const resumeRedis = async () => {
    stopped = false;
    await redis.resume();
  };
  afterEach(async () => {
    if (stopped) await resumeRedis();
    clients.closeAll();
    for (const node of nodes) await node.close();
    nodes = [];
  });
  after(async () => {
    await redis?.close();
  });

  it('sends an emit the node answered unavailable again with its id once Redis is back, and it is stored once', async () => {
    nodes = await startRedisNodes(1, redis.url, { extensions: [metricsExtension()] });
    const [node] = nodes as [SwarmNode];
    const room = uniquePrefix('unavailable');
    const sender = clients.open<AppEvents>({ url: eventsUrl(node) }).join(room);
    const reader = clients.open<AppEvents>({ url: eventsUrl(node) }).join(room);
    const seen = recordEvents(reader, ['chat.message']);
    await Promise.all([sender.ready, reader.ready]);
    await stopRedis();
    await waitFor(() => node.backend.status() === 'down', 'the node to see Redis down');
    const emitted = sender.emit('chat.message', { text: 'while Redis was down' });
    await waitFor(
      async () => (await failures(node, 'chat.message', 'unavailable')) > 0,
      'an unavailable answer',
    );
    await resumeRedis();
    const ack = await emitted;
    const after = await sender.emit('chat.message', { text: 'after' });
    assert.ok(after.offset > ack.offset);
    await waitFor(
      () => seen.some((s) => (s.data as { text: string }).text === 'after'),
      '"after" at the reader',
    );
    assert.deepEqual(
      seen.map((s) => [(s.data as { text: string }).text, s.meta.offset]),
      [
        ['while Redis was down', ack.offset],
        ['after', after.offset],
      ],
    );
  });

  it('hands the app the node’s unavailable when resending is off', async () => {
    nodes = await startRedisNodes(1, redis.url, { extensions: [metricsExtension()] });
    const [node] = nodes as [SwarmNode];
    const room = uniquePrefix('no-resend');
    const client = clients.open<AppEvents>({ url: eventsUrl(node), resendForMs: 0 });
    const joined = client.join(room);
    await joined.ready;
    await stopRedis();
    await waitFor(() => node.backend.status() === 'down', 'the node to see Redis down');
    await assert.rejects(joined.emit('chat.message', { text: 'lost?' }), { code: 'unavailable' });
    await resumeRedis();
  });
});
