import path from 'node:path';
import { freePort } from '../helpers/redis';
import type { Protocol } from './client/clients';
import { launchServer, type ServerProcess } from './processes';
import type { BenchRedis } from './redis-server';

/** What every system gets to start: the run's Redis and, when profiling, where profiles go. */
export interface StartContext {
  readonly redis: BenchRedis;
  readonly cpuProfDir?: string;
  /** Runs swarmcast on its embedded backend (one node, no Redis): for working on the bench itself. */
  readonly embedded?: boolean;
  /** Another swarmcast build's main.js to run instead of this checkout's. */
  readonly swarmcastMain?: string;
  /** Other systems already running on the run's Redis: start without flushing it. */
  readonly keepRedis?: boolean;
}

/** A system under test, started with some number of nodes. */
export interface RunningSystem {
  readonly system: SystemSpec;
  readonly nodes: ServerProcess[];
  /** The URL a client of this system's protocol uses to reach node `index` (wrapping around). */
  url(index: number): string;
  stop(): Promise<void>;
}

export interface SystemSpec {
  /** Short name used in tables and charts. */
  readonly name: string;
  readonly protocol: Protocol;
  /** Nodes it can run; the y-websocket server has no way to share rooms between processes. */
  readonly maxNodes: number;
  start(nodes: number, context: StartContext): Promise<RunningSystem>;
}

const DIST = path.join(__dirname, '..', '..');
const MAIN = path.join(DIST, 'src', 'main.js');
const peer = (name: string) => path.join(__dirname, 'peers', `${name}.js`);

async function startNodes(
  system: SystemSpec,
  count: number,
  context: StartContext,
  launch: (index: number, port: number) => Promise<ServerProcess>,
  url: (port: number) => string,
): Promise<RunningSystem> {
  if (!context.keepRedis) await context.redis.flush();
  const nodes: ServerProcess[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    for (let i = 0; i < Math.min(count, system.maxNodes); i++) nodes.push(await launch(i, await freePort()));
  } catch (err) {
    await stop();
    throw err;
  }
  return { system, nodes, url: (index) => url(nodes[index % nodes.length]!.port), stop };
}

/**
 * A swarmcast system; `env` may point it at a Redis Cluster (REDIS_CLUSTER_NODES) instead of
 * the run's Redis; `script`, a node of this checkout's that embeds swarmcast, instead of its `main`.
 */
export function swarmcast(
  name: string,
  protocol: Protocol,
  route: string,
  env: Record<string, string> = {},
  script?: string,
): SystemSpec {
  const spec: SystemSpec = {
    name,
    protocol,
    maxNodes: 8,
    start: (count, context) =>
      startNodes(
        { ...spec, maxNodes: context.embedded ? 1 : spec.maxNodes },
        count,
        context,
        (index, port) =>
          launchServer({
            name: `${name}-${index}`,
            script: script ?? context.swarmcastMain ?? MAIN,
            port,
            cpuProfDir: context.cpuProfDir,
            env: {
              LOG_LEVEL: 'warn',
              NODE_ID: `bench-${index}`,
              ...env,
              ...(context.embedded || env.REDIS_CLUSTER_NODES ? {} : { REDIS_URL: context.redis.url }),
            },
            ready: async () => {
              const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
              return res?.status === 200;
            },
          }),
        (port) => `ws://127.0.0.1:${port}${route}`,
      ),
  };
  return spec;
}

function peerSystem(
  name: string,
  protocol: Protocol,
  script: string,
  maxNodes: number,
  scheme: string,
  /** May point it at a Redis Cluster (REDIS_CLUSTER_NODES) instead of the run's Redis. */
  env: Record<string, string> = {},
): SystemSpec {
  const spec: SystemSpec = {
    name,
    protocol,
    maxNodes,
    start: (count, context) =>
      startNodes(
        spec,
        count,
        context,
        (index, port) =>
          launchServer({
            name: `${name}-${index}`,
            script: peer(script),
            port,
            cpuProfDir: context.cpuProfDir,
            env: { REDIS_URL: context.redis.url, NODE_ID: `${name}-${index}`, ...env },
          }),
        (port) => `${scheme}://127.0.0.1:${port}`,
      ),
  };
  return spec;
}

/** swarmcast's Yjs endpoint: the y-websocket provider's serverUrl is `ws://host:port/yjs`. */
export const swarmcastYjs = swarmcast('swarmcast', 'y-websocket', '/yjs');
/**
 * swarmcast's Yjs endpoint without its cache of merged documents: what a room costs a node
 * when the node keeps nothing of the document between messages (scenario 4).
 */
export const swarmcastYjsNoCache = swarmcast('swarmcast', 'y-websocket', '/yjs', { YJS_CACHE_BYTES: '0' });
/** swarmcast's JSON event protocol. */
export const swarmcastJson = swarmcast('swarmcast', 'json', '/events');
/**
 * The option beside it: the same protocol with an app's ephemeral room event (`stream: null`:
 * no offset, no history, one PUBLISH), which is what socket.io's room events are (scenario 5).
 */
export const swarmcastEphemeral = swarmcast(
  'swarmcast-ephemeral',
  'json-ephemeral',
  '/events',
  {},
  peer('swarmcast-ephemeral'),
);
export const yWebsocketServer = peerSystem(
  'y-websocket-server',
  'y-websocket',
  'y-websocket-server',
  1,
  'ws',
);
export const hocuspocus = peerSystem('hocuspocus', 'hocuspocus', 'hocuspocus-server', 8, 'ws');
export const socketIo = peerSystem('socket.io', 'socket.io', 'socketio-server', 8, 'http');
/** socket.io on a Redis Cluster (`seeds` as in REDIS_CLUSTER_NODES), with the sharded adapter. */
export const socketIoOnCluster = (seeds: string) =>
  peerSystem('socket.io', 'socket.io', 'socketio-server', 8, 'http', { REDIS_CLUSTER_NODES: seeds });

/** The Yjs systems in table order: ours first, then the peers. */
export const yjsSystems: SystemSpec[] = [swarmcastYjs, hocuspocus, yWebsocketServer];
export const eventSystems: SystemSpec[] = [swarmcastJson, socketIo];
/** Scenario 5's systems: the event systems, and swarmcast's ephemeral option beside them. */
export const eventSystemsWithOption: SystemSpec[] = [...eventSystems, swarmcastEphemeral];
