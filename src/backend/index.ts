import type { Config } from '../config';
import type { Logger } from '../log';
import type { Backend } from './backend';
import { MemoryBackend } from './memory/memory-backend';
import { MemoryCluster } from './memory/memory-cluster';
import { RedisBackend } from './redis/redis-backend';

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
  return new MemoryBackend(config.nodeId, new MemoryCluster(config.historyLimit));
}
