import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisKeys } from '../../src/backend/redis/keys';
import { RedisBus } from '../../src/backend/redis/redis-bus';
import { RedisCalls } from '../../src/backend/redis/redis-calls';
import { RedisHistory } from '../../src/backend/redis/redis-stores';
import type { ScriptedRedis } from '../../src/backend/redis/scripts';
import type { Subscriber } from '../../src/backend/redis/subscriber';
import { UnavailableError } from '../../src/core/errors';
import { DEFAULT_STREAM } from '../../src/core/events/event';

/**
 * A Redis client that lost track of its replies answers each command with another one's
 * (the chaos run saw `OK`, a member's JSON and a counter read as stream heads). Every
 * command here gets `reply`.
 */
function answering(reply: unknown): ScriptedRedis {
  return new Proxy({} as ScriptedRedis, {
    get: (_target, name) => (name === 'then' ? undefined : () => Promise.resolve(reply)),
  });
}

const sub: Subscriber = {
  publishCommand: 'PUBLISH',
  subscribe: async () => {},
  unsubscribe: async () => {},
  ready: () => true,
  start: async () => {},
  close: async () => {},
};

const keys = new RedisKeys('replies');
const event = { type: 'test.event', room: 'r', data: {}, from: { node: 'a' } };

describe("a Redis reply that is another command's", () => {
  for (const [what, reply] of [
    ['OK', 'OK'],
    ['a bulk string', Buffer.from('{"node":"n1"}')],
    ['a counter', 79],
    ['a hash', ['conn-1', '{"node":"n1"}']],
  ] as const) {
    it(`answers an append given ${what} with unavailable, since the append may have run`, async () => {
      const bus = new RedisBus(
        'a',
        answering(reply),
        sub,
        keys,
        new RedisCalls(() => undefined),
        100,
        0,
        () => undefined,
      );
      await assert.rejects(bus.publishRoom(event, DEFAULT_STREAM), UnavailableError);
    });

    it(`fails a history read given ${what} instead of taking it for the stream's head`, async () => {
      const history = new RedisHistory(answering(reply), keys, new RedisCalls(() => undefined));
      await assert.rejects(history.read('r', DEFAULT_STREAM, 5, 'epoch-1'), /not a stream head/);
    });
  }
});
