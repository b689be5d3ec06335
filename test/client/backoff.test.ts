import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff } from '../../src/client/backoff';

describe('reconnect backoff', () => {
  it('doubles from the first delay up to the cap, each delay drawn in the upper half of its step', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0);
    const high = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 1);
    assert.deepEqual(
      Array.from({ length: 6 }, () => low.next()),
      [50, 100, 200, 400, 500, 500],
    );
    assert.deepEqual(
      Array.from({ length: 6 }, () => high.next()),
      [100, 200, 400, 800, 1000, 1000],
    );
  });

  it('spreads the delays of many clients (jitter) and starts over after a reset', () => {
    const delays = Array.from({ length: 50 }, () => new Backoff({ initialMs: 1000 }).next());
    assert.ok(new Set(delays).size > 40, 'distinct delays');
    assert.ok(delays.every((d) => d >= 500 && d <= 1000));
    const backoff = new Backoff({ initialMs: 100 }, () => 1);
    backoff.next();
    backoff.next();
    backoff.reset();
    assert.equal(backoff.next(), 100);
  });
});
