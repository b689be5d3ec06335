import type { Config } from '../core/config';
import type { Logger } from '../core/log';
import type { Backend } from './backend';
import { MemoryBackend } from './memory/memory-backend';
import { SharedMemory } from './memory/shared-memory';
import { RedisBackend } from './redis/redis-backend';

/**
 * The one place that picks a backend; every other module sees only the Backend interface
 * (the layering check in `npm test` holds this).
 */
export { MemoryBackend, RedisBackend, SharedMemory };

/** The embedded backend of one node on its own. */
export function embeddedBackend(node: string, historyLimit: number): Backend {
  return new MemoryBackend(node, new SharedMemory(historyLimit));
}

/**
 * The backend the configuration asks for: Redis when REDIS_URL or REDIS_CLUSTER_NODES is
 * set, else the embedded one.
 */
export function createBackend(config: Config, log: Logger): Backend {
  const common = {
    node: config.nodeId,
    keyPrefix: config.keyPrefix,
    historyLimit: config.historyLimit,
    waitReplicas: config.redisWaitReplicas,
    log,
  };
  if (config.redisCluster) return new RedisBackend({ cluster: config.redisCluster, ...common });
  if (config.redisUrl) return new RedisBackend({ url: config.redisUrl, ...common });
  return embeddedBackend(config.nodeId, config.historyLimit);
}
