import type { Config } from '../config';
import type { Logger } from '../log';
import type { Backend } from './backend';
import { MemoryBackend } from './memory/memory-backend';
import { MemoryCluster } from './memory/memory-cluster';
import { RedisBackend } from './redis/redis-backend';

/** The backend the configuration asks for: Redis when REDIS_URL is set, else the embedded one. */
export function createBackend(config: Config, log: Logger): Backend {
  if (config.redisUrl) {
    return new RedisBackend({
      url: config.redisUrl,
      node: config.nodeId,
      keyPrefix: config.keyPrefix,
      historyLimit: config.historyLimit,
      log,
    });
  }
  return new MemoryBackend(config.nodeId, new MemoryCluster(config.historyLimit));
}
