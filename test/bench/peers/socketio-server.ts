/**
 * The events peer: socket.io with `@socket.io/redis-adapter`, one process per node. It does
 * what our JSON protocol's `room.join` and a room event do: join a room, and send an event to
 * every member of the room on every node (the sender included, as ours does).
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import Redis from 'ioredis';
import { Server } from 'socket.io';

const port = Number(process.env.PORT);
const pub = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const sub = pub.duplicate();
const http = createServer();
const io = new Server(http, { adapter: createAdapter(pub, sub), transports: ['websocket'] });

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
