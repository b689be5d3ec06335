import type { RedisKeys } from './keys';
import type { RedisCalls } from './redis-calls';
import type { ScriptedRedis } from './scripts';

/** What a Redis store that defines its own scripts needs of the backend: the client, the timed calls, the key names. */
export interface RedisStoreParts {
  readonly redis: ScriptedRedis;
  readonly calls: RedisCalls;
  readonly keys: RedisKeys;
}
