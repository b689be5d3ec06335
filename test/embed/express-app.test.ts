import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { CloseCode } from '../../src/core/errors';
import { OpenClients } from '../helpers/client';
import { eventsUrl, uniquePrefix } from '../helpers/nodes';
import { TestRedis } from '../helpers/redis';
import { waitFor, within } from '../helpers/wait';
import { destroyAll, provider, synced } from '../yjs/yjs-helpers';
import { type AppProcess, InstalledApp } from './installed-app';

/** Opens /events by hand and never answers the close frame, so that a drain has to wait. */
async function stuckSocket(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    'GET /events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await new Promise((resolve) => socket.once('data', resolve));
  return socket;
}

/** An app of a TypeScript user: a handler, attach, emit and the Yjs API, all typed. */
const TYPED_APP = `
import { createServer } from 'node:http';
import { attach, defineEvent, type Swarmcast, z } from 'swarmcast';

const shout = defineEvent({
  type: 'app.shout',
  scope: 'room',
  access: 'write',
  data: z.object({ text: z.string() }),
  handle: (ctx) => ({ text: ctx.data.text.toUpperCase() }),
});

export const wrong = defineEvent({
  type: 'app.wrong',
  scope: 'room',
  access: 'write',
  data: z.object({ text: z.string() }),
  handle: (ctx) => ({ text: ctx.data.txt }),
});

export async function start(): Promise<Swarmcast> {
  const server = createServer();
  const swarm = await attach(server, { prefix: '/rt', handlers: [shout], config: { maxConnections: 5 } });
  const { position } = await swarm.emit('app.shout', { room: 'r', data: { text: 'x' } });
  const offset: number | undefined = position?.offset;
  const doc = await swarm.yjs.getDoc('r');
  doc.getText('content').insert(0, String(offset));
  return swarm;
}
`;

describe('the express example, installed from the npm pack tarball', () => {
  let installed: InstalledApp;
  let redis: TestRedis;
  const apps: AppProcess[] = [];
  const clients = new OpenClients();

  const start = async (env: Record<string, string> = {}) => {
    const app = await installed.start(env);
    apps.push(app);
    return app;
  };

  before(async () => {
    installed = InstalledApp.install();
    redis = await TestRedis.start();
  });

  after(async () => {
    clients.terminateAll();
    destroyAll();
    await Promise.all(apps.map((app) => app.kill()));
    await redis?.close();
    installed?.remove();
  });

  it("passes the example's own test", () => {
    const { status, output } = installed.runOwnTest();
    assert.equal(status, 0, output);
    assert.match(output, /# pass 3\b/);
  });

  it('gives a strict TypeScript app typed declarations of the server API', () => {
    // One compile (the dependencies' declarations take most of it): the file is right but
    // for one line, where the schema's type reaches the handler and a wrong field is caught.
    const { output } = installed.typeCheck(TYPED_APP);
    const errors = output.split('\n').filter((line) => line.includes('error TS'));
    assert.equal(errors.length, 1, output);
    assert.match(errors[0]!, /^typed\.ts\(\d+,\d+\): error TS\d+: Property 'txt' does not exist/);
  });

  it("serves the app's route, JSON events and a y-websocket provider on the app's port", async () => {
    const app = await start();
    const hello = (await (await fetch(`${app.url}/api/hello`)).json()) as { app: string; node: string };
    assert.equal(hello.app, 'express-app');
    assert.equal((await fetch(`${app.url}/readyz`)).status, 200);

    const client = await clients.connect(eventsUrl(app.port));
    assert.equal(client.welcome.node, hello.node);
    await client.join('board');
    const ack = (await client.request('note.add', { room: 'board', data: { text: 'from a socket' } })) as {
      offset: number;
    };
    const note = await client.next((f) => f.type === 'note.add' && f.offset === ack.offset, 'the note');
    assert.deepEqual(note.data, { text: 'from a socket', by: client.welcome.user });

    const editor = await synced(provider(app.port, 'board-doc'));
    editor.doc.getText('content').insert(0, 'typed in an editor');
    const text = await waitFor(async () => {
      const res = await fetch(`${app.url}/api/rooms/board-doc/text`);
      const body = (await res.json()) as { text: string };
      return body.text === 'typed in an editor' ? body.text : undefined;
    }, 'the app route to read the document');
    assert.equal(text, 'typed in an editor');
  });

  it("hands an upgrade for another path to the app's own handler", async () => {
    const app = await start();
    const echo = new WebSocket(`ws://127.0.0.1:${app.port}/app/echo`);
    const greeting = await within(
      new Promise<string>((resolve) => echo.once('message', (m) => resolve(m.toString()))),
      'the app endpoint to greet',
    );
    assert.equal(greeting, 'echo ready');
    echo.close();
    const nobody = new WebSocket(`ws://127.0.0.1:${app.port}/nobody`);
    const status = await within(
      new Promise<number>((resolve) =>
        nobody.once('unexpected-response', (_req, res) => resolve(res.statusCode!)),
      ),
      'an answer for a path nobody serves',
    );
    assert.equal(status, 404);
  });

  it('forms a cluster of two app processes on one Redis', async () => {
    const env = { REDIS_URL: redis.url, KEY_PREFIX: uniquePrefix('embed') };
    const [one, two] = [
      await start({ ...env, NODE_ID: 'app-one' }),
      await start({ ...env, NODE_ID: 'app-two' }),
    ];
    const a = await clients.connect(eventsUrl(one!.port));
    const b = await clients.connect(eventsUrl(two!.port));
    assert.deepEqual([a.welcome.node, b.welcome.node], ['app-one', 'app-two']);
    await a.join('shared');
    const joined = await b.join('shared');
    assert.equal(joined.members.length, 2);
    await b.request('note.add', { room: 'shared', data: { text: 'across nodes' } });
    const note = await a.next((f) => f.type === 'note.add', 'the note from the other process');
    assert.equal(note.from?.node, 'app-two');

    const posted = await fetch(`${one!.url}/api/rooms/shared/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'from a route' }),
    });
    assert.equal(posted.status, 201);
    await b.next(
      (f) => f.type === 'note.add' && (f.data as { by: string }).by === 'server',
      'the route note',
    );

    const left = await synced(provider(one!.port, 'shared-doc'));
    const right = await synced(provider(two!.port, 'shared-doc'));
    left.doc.getText('content').insert(0, 'one doc, two processes');
    await waitFor(
      () => right.doc.getText('content').toString() === 'one doc, two processes',
      'the edit to reach the other process',
    );
  });

  it('drains on SIGTERM: sockets close with 1012, readiness turns 503, the app decides when to exit', async () => {
    const app = await start({ DRAIN_TIMEOUT_MS: '1500' });
    const client = await clients.connect(eventsUrl(app.port));
    await client.join('draining');
    const stuck = await stuckSocket(app.port);
    app.proc.kill('SIGTERM');
    const { code } = await within(client.closed, 'the close frame');
    assert.equal(code, CloseCode.ServiceRestart);
    const ready = await waitFor(async () => {
      const res = await fetch(`${app.url}/readyz`);
      return res.status === 503 ? res.status : undefined;
    }, '/readyz to turn 503');
    assert.equal(ready, 503);
    // The app's own routes are the app's: they still answer while swarmcast drains.
    assert.equal((await fetch(`${app.url}/api/hello`)).status, 200);
    const exit = await within(app.exited, 'the app to exit', 10_000);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(app.lines.some((line) => line.includes('"drain timed out') || line.includes('"drained"')));
    stuck.destroy();
  });
});
