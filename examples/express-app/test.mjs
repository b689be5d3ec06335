// The example's own test: starts server.mjs on a free port and checks that the app's
// routes, swarmcast's endpoints and the app's own WebSocket endpoint share it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

let app;
let base;

/** Resolves with the first message that `match` accepts, or rejects after `ms`. */
function message(ws, match, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no matching message in time')), ms);
    ws.on('message', function onMessage(raw) {
      const text = raw.toString();
      if (!match(text)) return;
      clearTimeout(timer);
      ws.off('message', onMessage);
      resolve(text);
    });
  });
}

async function open(path) {
  const ws = new WebSocket(`${base.replace('http', 'ws')}${path}`);
  await once(ws, 'open');
  return ws;
}

describe('the express app', () => {
  before(async () => {
    app = spawn(process.execPath, [fileURLToPath(new URL('server.mjs', import.meta.url))], {
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the app did not start in time')), 15_000);
      app.stdout.on('data', (chunk) => {
        const found = /listening on port (\d+)/.exec(chunk.toString());
        if (found) {
          clearTimeout(timer);
          resolve(Number(found[1]));
        }
      });
      app.once('exit', (code) => reject(new Error(`the app exited with ${code}`)));
    });
    base = `http://127.0.0.1:${port}`;
  });

  after(() => app.kill('SIGKILL'));

  it('answers its own REST route and swarmcast health on one port', async () => {
    const hello = await (await fetch(`${base}/api/hello`)).json();
    assert.equal(hello.app, 'express-app');
    const health = await (await fetch(`${base}/healthz`)).json();
    assert.deepEqual(health, { status: 'ok', node: hello.node });
    assert.equal((await fetch(`${base}/no-such-route`)).status, 404);
  });

  it('delivers its own note.add event from a client and from its REST route', async () => {
    const ws = await open('/events');
    ws.send(JSON.stringify({ type: 'room.join', data: { room: 'notes' }, id: 'j' }));
    await message(ws, (text) => text.includes('"id":"j"'));
    ws.send(JSON.stringify({ type: 'note.add', room: 'notes', data: { text: ' hi ' }, id: 'n' }));
    const event = JSON.parse(await message(ws, (text) => text.includes('"type":"note.add"')));
    assert.equal(event.data.text, 'hi');
    const fromRoute = message(ws, (text) => text.includes('from the route'));
    const res = await fetch(`${base}/api/rooms/notes/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'from the route' }),
    });
    assert.equal(res.status, 201);
    assert.equal(JSON.parse(await fromRoute).data.by, 'server');
    const bad = await fetch(`${base}/api/rooms/notes/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: '' }),
    });
    assert.equal(bad.status, 400);
    ws.close();
  });

  it('keeps its own WebSocket endpoint, and refuses paths nobody serves', async () => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/app/echo`);
    // The endpoint greets at once, possibly in the same packet as the handshake.
    await message(ws, (text) => text === 'echo ready');
    const answer = message(ws, (text) => text.startsWith('echo: '));
    ws.send('ping');
    assert.equal(await answer, 'echo: ping');
    ws.close();
    const refused = new WebSocket(`${base.replace('http', 'ws')}/nobody`);
    const [, res] = await once(refused, 'unexpected-response');
    assert.equal(res.statusCode, 404);
  });
});
