/**
 * The events peer: socket.io with `@socket.io/redis-adapter`, one process per node. It does
 * what our JSON protocol's `room.join` and a room event do: join a room, and send an event to
 * every member of the room on every node (the sender included, as ours does).
 *
 * With REDIS_CLUSTER_NODES (host:port,…) it runs on a Redis Cluster with the adapter's
 * sharded variant: ioredis `Cluster` clients, each room on a channel of its own
 * (SSUBSCRIBE / SPUBLISH on the room's shard, the adapter's default "dynamic" mode).
 */
import { createServer } from 'node:http';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import Redis, { Cluster } from 'ioredis';
import { Server, type ServerOptions } from 'socket.io';

const port = Number(process.env.PORT);
const seeds = process.env.REDIS_CLUSTER_NODES;

function clients(): { pub: Redis | Cluster; sub: Redis | Cluster; adapter: ServerOptions['adapter'] } {
  if (seeds) {
    const nodes = seeds.split(',').map((seed) => {
      const [host, portText] = seed.split(':');
      return { host: host!, port: Number(portText) };
    });
    const pub = new Cluster(nodes);
    // ioredis routes a Cluster's SSUBSCRIBE to the master of the channel's slot only with this.
    const sub = new Cluster(nodes, { shardedSubscribers: true });
    return { pub, sub, adapter: createShardedAdapter(pub, sub) };
  }
  const pub = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const sub = pub.duplicate();
  return { pub, sub, adapter: createAdapter(pub, sub) };
}

const { pub, sub, adapter } = clients();
const http = createServer();
const io = new Server(http, { adapter, transports: ['websocket'] });

io.on('connection', (socket) => {
  socket.on('join', async (room: string, ack: (answer: { room: string }) => void) => {
    await socket.join(room);
    ack({ room });
  });
  socket.on('event', (room: string, data: unknown) => {
    io.to(room).emit('event', room, data);
  });
});
http.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  void io.close();
  pub.disconnect();
  sub.disconnect();
  process.exit(0);
});
