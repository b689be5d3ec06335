import Redis from 'ioredis';
import WebSocket from 'ws';
import { TestRedisCluster } from '../../helpers/redis-cluster';
import { cpuMs } from '../cpu';
import type { Cell, ExtraTable, ScenarioResult } from '../report-model';
import { summarize } from '../stats';
import { formatNumber } from '../svg-chart';
import { type SystemSpec, socketIoOnCluster, swarmcast, swarmcastJson } from '../systems';
import { type BenchContext, failed, withSystem } from './context';
import { measureLatency, measureThroughput, type ThroughputShape } from './measure';
import { rampMethod } from './throughput';

const ONE = 'one Redis';
const CLUSTER = 'Redis Cluster';
const SOCKET_IO = 'socket.io, Redis Cluster';

/**
 * The commands a system sends once per room event, as `INFO commandstats` names them:
 * swarmcast's append script (EVALSHA, or EVAL on a cache miss), socket.io's sharded
 * adapter's SPUBLISH.
 */
const SCRIPTS = /^cmdstat_(evalsha|eval):calls=(\d+)/gm;
const SPUBLISH = /^cmdstat_(spublish):calls=(\d+)/gm;

/** A Redis server the scenario reads: where it listens and its process, for CPU time. */
interface Server {
  readonly label: string;
  readonly port: number;
  readonly pid: number | undefined;
}

/** Calls of `perEvent`'s commands a server took: under the ramp nearly all are room events. */
async function eventCalls(port: number, perEvent: RegExp): Promise<number> {
  const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  try {
    const text = await client.info('commandstats');
    let calls = 0;
    for (const match of text.matchAll(perEvent)) calls += Number(match[2]);
    return calls;
  } finally {
    client.disconnect();
  }
}

/** CPU ms each server spent per 1,000 room events it appended while `body` ran, and its share of all. */
async function redisCost<T>(
  servers: readonly Server[],
  perEvent: RegExp,
  body: () => Promise<T>,
): Promise<{ result: T; rows: Array<{ label: string; perThousand: number; share: number }> }> {
  const before = await Promise.all(
    servers.map(async (s) => ({ cpu: cpuMs(s.pid), calls: await eventCalls(s.port, perEvent) })),
  );
  const result = await body();
  const after = await Promise.all(
    servers.map(async (s) => ({ cpu: cpuMs(s.pid), calls: await eventCalls(s.port, perEvent) })),
  );
  const cpu = servers.map((_, i) => after[i]!.cpu - before[i]!.cpu);
  const total = cpu.reduce((sum, ms) => sum + ms, 0);
  const allCalls = servers.reduce((sum, _, i) => sum + after[i]!.calls - before[i]!.calls, 0);
  return {
    result,
    rows: servers.map((server, i) => ({
      label: server.label,
      // Per 1,000 events of the whole run, so the figures of the masters add up to the cluster's.
      perThousand: allCalls > 0 ? (cpu[i]! * 1000) / allCalls : Number.NaN,
      share: total > 0 ? cpu[i]! / total : Number.NaN,
    })),
  };
}

/** Events a sender acknowledges one after another in the ack-latency case. */
const ACKED_EVENTS = 400;

/**
 * The time from sending a room event to its `ack`, one event at a time on one connection:
 * what REDIS_WAIT_REPLICAS adds shows here (the live message leaves before WAIT returns, so
 * the members' delivery latency does not carry it).
 */
async function ackLatency(url: string, room: string, count: number): Promise<Cell> {
  const socket = new WebSocket(url);
  const waiting = new Map<string, (frame: { type: string }) => void>();
  socket.on('message', (raw: Buffer) => {
    const frame = JSON.parse(raw.toString()) as { type: string; id?: string };
    if (frame.id !== undefined) waiting.get(frame.id)?.(frame);
  });
  const request = (frame: Record<string, unknown>, id: string) =>
    new Promise<{ type: string }>((resolve) => {
      waiting.set(id, resolve);
      socket.send(JSON.stringify({ ...frame, id }));
    });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const joined = await request({ type: 'room.join', data: { room } }, 'join');
    if (joined.type !== 'ack') throw new Error(`join answered ${JSON.stringify(joined)}`);
    const times: number[] = [];
    for (let n = 0; n < count; n++) {
      const started = process.hrtime.bigint();
      const answer = await request({ type: 'chat.message', room, data: { text: `a${n}` } }, `m${n}`);
      if (answer.type !== 'ack') throw new Error(`event answered ${JSON.stringify(answer)}`);
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    return summarize(times);
  } finally {
    socket.close();
  }
}

/**
 * Scenario 8: the same JSON clients against swarmcast on one Redis and on a Redis Cluster of
 * three masters (one replica each), and against socket.io's sharded adapter on the same
 * cluster: delivered events per second, where Redis's CPU goes, and what
 * REDIS_WAIT_REPLICAS=1 adds to an event's latency.
 */
export async function redisCluster(context: BenchContext): Promise<ScenarioResult> {
  const { manyRooms } = context.scale.throughput;
  const shape: ThroughputShape = {
    rooms: manyRooms.rooms,
    clientsPerRoom: manyRooms.clients,
    writersPerRoom: manyRooms.clients,
  };
  const label = `${shape.rooms} rooms × ${shape.clientsPerRoom} clients`;
  const cluster = await TestRedisCluster.start();
  try {
    const masters = await cluster.masters();
    const onCluster = (env: Record<string, string>) =>
      swarmcast('swarmcast', 'json', '/events', { REDIS_CLUSTER_NODES: cluster.seeds, ...env });
    const rates: Record<string, Cell | undefined> = {};
    const cost: string[][] = [];
    const onMasters = masters.map((master, i) => ({
      label: `master ${i + 1}`,
      port: master.port,
      pid: cluster.pid(master.port),
    }));
    const measure = async (name: string, system: SystemSpec, servers: Server[], perEvent: RegExp) => {
      try {
        await withSystem(context, system, 2, async (running) => {
          const { result, rows } = await redisCost(servers, perEvent, () =>
            measureThroughput(context, running, shape, { ramps: 2 }),
          );
          rates[name] = result;
          for (const row of rows) {
            cost.push([
              `${name} (${system.protocol})`,
              row.label,
              formatNumber(row.perThousand),
              `${Math.round(row.share * 100)}%`,
            ]);
          }
        });
      } catch (err) {
        failed(context, system, err, name);
      }
    };
    await measure(
      ONE,
      swarmcastJson,
      [{ label: 'the one Redis', port: context.redis.port, pid: context.redis.pid }],
      SCRIPTS,
    );
    await measure(CLUSTER, onCluster({}), onMasters, SCRIPTS);
    await measure(SOCKET_IO, socketIoOnCluster(cluster.seeds), onMasters, SPUBLISH);
    const latency: string[][] = [];
    for (const replicas of [0, 1]) {
      // One sender acks faster than the per-connection rate limit allows: off for this case.
      const system = onCluster({ REDIS_WAIT_REPLICAS: String(replicas), RATE_LIMIT_PER_SEC: '0' });
      try {
        await withSystem(context, system, 2, async (running) => {
          const delivery = await measureLatency(context, running, 1);
          const ack = await ackLatency(running.url(0), `acks-${replicas}`, ACKED_EVENTS);
          latency.push([
            `REDIS_WAIT_REPLICAS=${replicas}`,
            formatNumber(ack.median),
            formatNumber(ack.p99 ?? Number.NaN),
            formatNumber(delivery.median),
            formatNumber(delivery.p99 ?? Number.NaN),
          ]);
        });
      } catch (err) {
        failed(context, system, err, `REDIS_WAIT_REPLICAS=${replicas}`);
      }
    }
    const costTable: ExtraTable = {
      caption:
        `Redis CPU per 1,000 room events (each is ${shape.clientsPerRoom - 1} deliveries) over the whole ramp, ` +
        'per server, and each server’s share of the Redis CPU: the load spreads when no master carries much ' +
        'more than a third. Events are counted in INFO commandstats as the command each system sends once ' +
        'per event: swarmcast’s append script (EVALSHA), socket.io’s SPUBLISH.',
      header: ['system', 'server', 'Redis CPU per 1,000 events (ms)', 'share of Redis CPU'],
      rows: cost,
    };
    const latencyTable: ExtraTable = {
      caption:
        `On the cluster, with and without waiting for a replica: the time from sending a room event to its ack ` +
        `(${ACKED_EVENTS} events one after another on one connection), and from sending to a member’s receipt ` +
        'on the other node (the scenario 5A method, one reader). WAIT delays the ack only: the live message ' +
        'leaves with the append.',
      header: ['setting', 'ack median (ms)', 'ack p99 (ms)', 'delivery median (ms)', 'delivery p99 (ms)'],
      rows: latency,
    };
    return {
      id: 's8',
      title:
        'swarmcast on a Redis Cluster (three masters) against one Redis, and socket.io on the same cluster',
      metric: 'room events delivered to clients per second',
      better: 'higher',
      spread: 'worst round',
      systems: [CLUSTER, ONE, SOCKET_IO],
      method:
        `${rampMethod(context, 'events')} The same JSON clients and swarmcast nodes, on one Redis and on a ` +
        'Redis Cluster of three masters with one replica each, all on this machine (so the cluster’s masters ' +
        'share its cores with everything else); socket.io’s two nodes with the same clients on the same cluster.',
      rows: [{ label, cells: rates }],
      notes: [
        'socket.io runs on the same cluster with `createShardedAdapter` of @socket.io/redis-adapter on ' +
          'ioredis `Cluster` clients (the subscriber with `shardedSubscribers: true`), one channel per room ' +
          '(SSUBSCRIBE / SPUBLISH on the room’s shard). It keeps no history: its Redis does less per event.',
        'Hocuspocus is not measured: @hocuspocus/extension-redis 3.4.4 takes `nodes` and opens ioredis ' +
          '`Cluster` clients (src/Redis.ts lines 133–135), then subscribes each document with classic SUBSCRIBE ' +
          '(line 197) and publishes with PUBLISH, which a cluster forwards to every master and replica. Under ' +
          'this scenario’s 1,000 clients on 200 documents, ioredis refuses its cluster subscriber connection’s ' +
          'ready check (INFO on a connection already in subscriber mode, ioredis built/Redis.js line 349), the ' +
          'extension’s afterLoadDocument fails with “Connection in subscriber mode, only subscriber commands may ' +
          'be used”, and Hocuspocus closes those documents’ clients (152 of 1,000 never synced in 20 s; with 20 ' +
          'clients on 4 documents all synced).',
      ],
      tables: [costTable, latencyTable],
    };
  } finally {
    await cluster.close();
  }
}
