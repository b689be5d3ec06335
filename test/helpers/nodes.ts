import { randomBytes } from 'node:crypto';
import type { Backend } from '../../src/backend/backend';
import { MemoryBackend } from '../../src/backend/memory/memory-backend';
import { SharedMemory } from '../../src/backend/memory/shared-memory';
import { type Config, loadConfig } from '../../src/core/config';
import type { AnyEventDefinition } from '../../src/core/events/event-definition';
import { handlers } from '../../src/modules/handlers';
import { type Extension, SwarmNode } from '../../src/node';

export interface TestNodeOptions {
  env?: Record<string, string>;
  handlers?: AnyEventDefinition[];
  extensions?: Extension[];
  /** Makes the backend for this node; defaults to a memory backend on `cluster`. */
  backend?: (config: Config) => Backend;
  cluster?: SharedMemory;
}

/** A prefix no other test uses, for keys in a shared Redis. */
export function uniquePrefix(name = 't'): string {
  return `${name}-${randomBytes(4).toString('hex')}`;
}

/** Starts one node in this process on port 0. */
export async function startNode(options: TestNodeOptions = {}): Promise<SwarmNode> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    ...options.env,
  });
  const backend =
    options.backend?.(config) ??
    new MemoryBackend(config.nodeId, options.cluster ?? new SharedMemory(config.historyLimit));
  const node = new SwarmNode({
    config,
    backend,
    handlers: options.handlers ?? handlers,
    extensions: options.extensions,
  });
  await node.start();
  return node;
}

/** Starts `count` nodes in this process that share one backend cluster. */
export async function startNodes(count: number, options: TestNodeOptions = {}): Promise<SwarmNode[]> {
  const cluster = options.cluster ?? new SharedMemory(1000);
  const nodes: SwarmNode[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(
      await startNode({
        ...options,
        cluster,
        env: { NODE_ID: `n${i + 1}-${uniquePrefix()}`, ...options.env },
      }),
    );
  }
  return nodes;
}

export function eventsUrl(node: SwarmNode | number, query = ''): string {
  const port = typeof node === 'number' ? node : node.port;
  return `ws://127.0.0.1:${port}/events${query}`;
}
