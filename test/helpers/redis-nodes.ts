import { createBackend } from '../../src/backend';
import { createLogger } from '../../src/core/log';
import type { SwarmNode } from '../../src/node';
import { startNode, type TestNodeOptions, uniquePrefix } from './nodes';
import type { TestRedisCluster } from './redis-cluster';

/** Where the nodes keep their state: one Redis (its URL) or a test Redis Cluster. */
export type RedisUnderTest = string | TestRedisCluster;

/** The environment that points a node at `target`, as an operator would set it. */
export function redisEnv(target: RedisUnderTest): Record<string, string> {
  return typeof target === 'string' ? { REDIS_URL: target } : { REDIS_CLUSTER_NODES: target.seeds };
}

/**
 * Starts `count` in-process nodes on one Redis (or one Redis Cluster) under a key prefix
 * of their own (a fresh one unless given), so tests sharing a Redis never see each
 * other's keys.
 */
export async function startRedisNodes(
  count: number,
  target: RedisUnderTest,
  options: TestNodeOptions = {},
  prefix = uniquePrefix('rt'),
): Promise<SwarmNode[]> {
  const nodes: SwarmNode[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(await startRedisNode(target, prefix, options, `n${i + 1}-${uniquePrefix()}`));
  }
  return nodes;
}

/** One node whose backend is built from its environment, as `npm start` builds it. */
export async function startRedisNode(
  target: RedisUnderTest,
  prefix: string,
  options: TestNodeOptions = {},
  nodeId = uniquePrefix('n'),
): Promise<SwarmNode> {
  return startNode({
    ...options,
    env: { NODE_ID: nodeId, KEY_PREFIX: prefix, ...redisEnv(target), ...options.env },
    backend: (config) => createBackend(config, createLogger(config.logLevel, config.nodeId)),
  });
}
