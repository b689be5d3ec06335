import type { Config } from '../config';
import type { Logger } from '../log';
import type { Backend } from './backend';
import { MemoryBackend } from './memory/memory-backend';
import { MemoryCluster } from './memory/memory-cluster';

/** The backend the configuration asks for: Redis when REDIS_URL is set, else the embedded one. */
export function createBackend(config: Config, _log: Logger): Backend {
  if (config.redisUrl) throw new Error('the Redis backend is not built yet');
  return new MemoryBackend(config.nodeId, new MemoryCluster(config.historyLimit));
}
