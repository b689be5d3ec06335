import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, ErrorCode } from '../../src/core/errors';
import { DROP_WINDOW_MS, RateLimiter } from '../../src/core/limits/rate-limit';
import type { SwarmNode } from '../../src/node';
import { JsonClient } from '../helpers/client';
import { eventsUrl, startNode } from '../helpers/nodes';
import { waitFor, within } from '../helpers/wait';

describe('RateLimiter', () => {
  const clock = () => {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it('accepts a burst, drops past it, and refills at the rate', () => {
    const time = clock();
    const limiter = new RateLimiter({ perSecond: 10, burst: 3, maxDrops: 100 }, time.now);
    assert.deepEqual(
      [1, 2, 3, 4].map(() => limiter.admit()),
      ['accept', 'accept', 'accept', 'drop'],
    );
    time.advance(100);
    assert.equal(limiter.admit(), 'accept', 'one token back after 100 ms at 10/s');
    assert.equal(limiter.admit(), 'drop');
    time.advance(10_000);
    assert.deepEqual(
      [1, 2, 3, 4].map(() => limiter.admit()),
      ['accept', 'accept', 'accept', 'drop'],
      'capped at the burst',
    );
  });

  it('says close once more than maxDrops frames were dropped within the window', () => {
    const time = clock();
    const limiter = new RateLimiter({ perSecond: 1, burst: 1, maxDrops: 3 }, time.now);
    assert.equal(limiter.admit(), 'accept');
    assert.deepEqual(
      [1, 2, 3].map(() => limiter.admit()),
      ['drop', 'drop', 'drop'],
    );
    assert.equal(limiter.admit(), 'close');
  });

  it('forgives drops spread over more than one window', () => {
    const time = clock();
    const limiter = new RateLimiter({ perSecond: 1, burst: 1, maxDrops: 2 }, time.now);
    limiter.admit();
    assert.deepEqual([limiter.admit(), limiter.admit()], ['drop', 'drop']);
    time.advance(DROP_WINDOW_MS + 1);
    limiter.admit();
    assert.deepEqual([limiter.admit(), limiter.admit()], ['drop', 'drop']);
  });

  it('is off with a rate of 0', () => {
    const limiter = new RateLimiter({ perSecond: 0, burst: 1, maxDrops: 1 });
    for (let i = 0; i < 1000; i++) assert.equal(limiter.admit(), 'accept');
  });
});

describe('rate limit on /events', () => {
  let node: SwarmNode;
  const clients: JsonClient[] = [];

  before(async () => {
    node = await startNode({
      env: { RATE_LIMIT_PER_SEC: '5', RATE_LIMIT_BURST: '5', RATE_LIMIT_MAX_DROPS: '20' },
    });
  });
  after(async () => {
    for (const client of clients) client.socket.terminate();
    await node.close();
  });

  it('answers frames past the burst with rate_limited and their id, in order, and stays open', async () => {
    const client = await JsonClient.connect(eventsUrl(node));
    clients.push(client);
    const ids = Array.from({ length: 10 }, (_, i) => `q${i}`);
    for (const id of ids) client.send({ type: 'node.info', data: {}, id });
    const answers = await waitFor(() => {
      const got = client.frames.filter((f) => f.type === 'ack' || f.type === 'error');
      return got.length >= ids.length ? got : undefined;
    }, 'ten answers');
    assert.deepEqual(
      answers.map((f) => f.id),
      ids,
      'one answer per frame, in frame order',
    );
    const acked = answers.filter((f) => f.type === 'ack').length;
    assert.ok(
      acked >= 5 && acked <= 6,
      `the burst of 5 (plus at most one refill) was accepted, got ${acked}`,
    );
    for (const refused of answers.filter((f) => f.type === 'error'))
      assert.equal(refused.code, ErrorCode.RateLimited);
    assert.equal(client.socket.readyState, client.socket.OPEN);
  });

  it('closes a connection that keeps sending past its limit with 4529, and only that one', async () => {
    const calm = await JsonClient.connect(eventsUrl(node));
    const flood = await JsonClient.connect(eventsUrl(node));
    clients.push(calm, flood);
    for (let i = 0; i < 100; i++) flood.send({ type: 'node.info', data: {} });
    assert.equal((await within(flood.closed, 'flood closed')).code, CloseCode.RateLimited);
    await calm.request('node.info');
  });
});
