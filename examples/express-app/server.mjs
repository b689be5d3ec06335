// An Express app that already has its routes and its own WebSocket endpoint, with
// swarmcast attached to the same HTTP server: /events, /yjs/<room>, /healthz and the
// rest on the app's port, and one event type of the app's own.
import { createServer } from 'node:http';
import express from 'express';
import { attach, defineEvent, z } from 'swarmcast';
import { WebSocketServer } from 'ws';

/** The app's own event type, declared like the built-in ones; clients send it on /events. */
const noteAdd = defineEvent({
  type: 'note.add',
  scope: 'room',
  access: 'write',
  data: z.object({ text: z.string().trim().min(1).max(500) }),
  handle: (ctx) => ({ text: ctx.data.text, by: ctx.from.user ?? 'server' }),
});

const app = express();
app.use(express.json());
const server = createServer(app);

const swarm = await attach(server, {
  // The same settings as swarmcast's environment variables; unset ones keep their default.
  config: {
    redisUrl: process.env.REDIS_URL,
    keyPrefix: process.env.KEY_PREFIX,
    nodeId: process.env.NODE_ID,
    logLevel: process.env.LOG_LEVEL ?? 'info',
    drainTimeoutMs: process.env.DRAIN_TIMEOUT_MS ?? 5000,
  },
  handlers: [noteAdd],
});

app.get('/api/hello', (_req, res) => {
  res.json({ app: 'express-app', node: swarm.id });
});

// Server code emits through the same router as clients: every member on every node gets it.
app.post('/api/rooms/:room/notes', async (req, res, next) => {
  try {
    const { position } = await swarm.emit('note.add', { room: req.params.room, data: req.body });
    res.status(201).json({ offset: position?.offset });
  } catch (err) {
    next(err);
  }
});

// The Yjs document of a room, as the editors on every node have it.
app.get('/api/rooms/:room/text', async (req, res, next) => {
  try {
    const doc = await swarm.yjs.getDoc(req.params.room);
    res.json({ text: doc.getText(String(req.query.name ?? 'content')).toString() });
    doc.destroy();
  } catch (err) {
    next(err);
  }
});

// /healthz, /readyz and /metrics; what swarmcast does not serve goes on to the app.
app.use(swarm.http);

// An invalid note from the REST route is the client's mistake, not a crash.
app.use((err, _req, res, _next) => {
  res.status(err.code === 'invalid_data' ? 400 : 500).json({ error: err.message, code: err.code });
});

// The app's own WebSocket endpoint beside swarmcast's, on the same port.
const echo = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  if (new URL(req.url, 'http://localhost').pathname === '/app/echo') {
    echo.handleUpgrade(req, socket, head, (ws) => {
      ws.send('echo ready');
      ws.on('message', (message) => ws.send(`echo: ${message}`));
    });
  } else if (!swarm.serves(req)) {
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  }
});

// swarmcast drains on SIGTERM by itself; the app decides what happens next.
process.on('SIGTERM', async () => {
  await swarm.drain();
  for (const ws of echo.clients) ws.close(1001, 'server stopping');
  server.close(() => process.exit(0));
});

server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', () => {
  console.log(`express-app listening on port ${server.address().port}`);
});
