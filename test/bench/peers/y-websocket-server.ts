/**
 * The reference peer: the y-websocket server (`@y/websocket-server`, yjs 13), one process,
 * in memory, as its own `server.js` runs it. It cannot scale out, so the bench runs one node.
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

async function main(): Promise<void> {
  // An ES module only: loaded with import(), which this CommonJS build keeps as is.
  const { setupWSConnection } = await import('@y/websocket-server/utils');
  const port = Number(process.env.PORT);
  const sockets = new WebSocketServer({ noServer: true });
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('okay');
  });
  server.on('upgrade', (req, socket, head) => {
    sockets.handleUpgrade(req, socket, head, (ws) => setupWSConnection(ws, req));
  });
  server.listen(port, '127.0.0.1');
}

void main();
process.on('SIGTERM', () => process.exit(0));
