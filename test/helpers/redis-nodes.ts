import { RedisBackend } from '../../src/backend/redis/redis-backend';
import { createLogger } from '../../src/log';
import type { SwarmNode } from '../../src/node';
import { startNode, type TestNodeOptions, uniquePrefix } from './nodes';

/**
 * Starts `count` in-process nodes on one Redis under a key prefix of their own (a fresh
 * one unless given), so tests sharing a Redis never see each other's keys.
 */
export async function startRedisNodes(
  count: number,
  url: string,
  options: TestNodeOptions = {},
  prefix = uniquePrefix('rt'),
): Promise<SwarmNode[]> {
  const nodes: SwarmNode[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(await startRedisNode(url, prefix, options, `n${i + 1}-${uniquePrefix()}`));
  }
  return nodes;
}

export async function startRedisNode(
  url: string,
  prefix: string,
  options: TestNodeOptions = {},
  nodeId = uniquePrefix('n'),
): Promise<SwarmNode> {
  return startNode({
    ...options,
    env: { NODE_ID: nodeId, KEY_PREFIX: prefix, REDIS_URL: url, ...options.env },
    backend: (config) =>
      new RedisBackend({
        url,
        node: config.nodeId,
        keyPrefix: config.keyPrefix,
        historyLimit: config.historyLimit,
        log: createLogger(config.logLevel, config.nodeId),
      }),
  });
}
