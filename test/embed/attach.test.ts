import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { z } from 'zod';
import { loadConfig } from '../../src/core/config';
import { CloseCode, ConfigError, ErrorCode } from '../../src/core/errors';
import { defineEvent } from '../../src/core/events/event-definition';
import { attach, type Swarmcast } from '../../src/embed/attach';
import { Y } from '../../src/modules/yjs/esm';
import { OpenClients } from '../helpers/client';
import { waitFor, within } from '../helpers/wait';

type YWebsocketModule = typeof import('y-websocket', { with: { 'resolution-mode': 'import' }});
const { WebsocketProvider }: YWebsocketModule = require('y-websocket');

const shout = defineEvent({
  type: 'app.shout',
  scope: 'room',
  access: 'write',
  data: z.object({ text: z.string().min(1).max(20) }),
  handle: (ctx) => ({ text: ctx.data.text.toUpperCase() }),
});

const announce = defineEvent({
  type: 'app.announce',
  scope: 'room',
  access: 'server',
  data: z.object({ text: z.string() }),
});

/** Resolves with the HTTP status that refuses an upgrade of `path`. */
function refusal(port: number, path: string): Promise<number> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  return within(
    new Promise<number>((resolve, reject) => {
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode!));
      socket.once('open', () => reject(new Error(`${path} opened`)));
    }),
    `an answer for ${path}`,
  );
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('attach to a server the app owns', () => {
  let server: Server;
  let swarm: Swarmcast;
  let port: number;
  const clients = new OpenClients();

  before(async () => {
    server = createServer((req, res) => swarm.http(req, res, () => res.end('the app')));
    swarm = await attach(server, {
      prefix: '/rt',
      config: { logLevel: 'silent' },
      handlers: [shout, announce],
      drainOn: [],
    });
    port = await listen(server);
  });

  after(async () => {
    clients.terminateAll();
    await swarm.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('serves its HTTP routes under the prefix and passes every other request to the app', async () => {
    const health = await fetch(`http://127.0.0.1:${port}/rt/healthz`);
    assert.deepEqual(await health.json(), { status: 'ok', node: swarm.id });
    for (const path of ['/healthz', '/rt/nothing', '/', '/rtx/healthz']) {
      assert.equal(await (await fetch(`http://127.0.0.1:${port}${path}`)).text(), 'the app', path);
    }
  });

  it('serves /events and /yjs/<room> under the prefix, on the same port', async () => {
    const client = await clients.connect(`ws://127.0.0.1:${port}/rt/events`);
    assert.equal(client.welcome.node, swarm.id);
    const editor = new WebsocketProvider(`ws://127.0.0.1:${port}/rt/yjs`, 'doc', new Y.Doc(), {
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
    });
    try {
      await waitFor(() => editor.synced, 'the provider to sync under the prefix');
    } finally {
      // The awareness has a timer of its own that the provider's destroy leaves running.
      editor.awareness.destroy();
      editor.destroy();
      editor.doc.destroy();
    }
    assert.equal(await refusal(port, '/yjs/doc'), 404);
  });

  it('refuses an upgrade nobody serves with 404 while it is the only upgrade listener', async () => {
    assert.equal(await refusal(port, '/events'), 404);
    assert.equal(await refusal(port, '/rt/other'), 404);
  });

  it("leaves an upgrade it does not serve to the app's own listener", async () => {
    const seen: string[] = [];
    const appListener = (req: { url?: string }, socket: { end(text: string): void }) => {
      if (swarm.serves(req as never)) return;
      seen.push(req.url ?? '');
      socket.end('HTTP/1.1 418 I am a teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    };
    server.on('upgrade', appListener);
    try {
      assert.equal(await refusal(port, '/app/socket'), 418);
      assert.deepEqual(seen, ['/app/socket']);
      const client = await clients.connect(`ws://127.0.0.1:${port}/rt/events`);
      assert.ok(client.welcome.conn);
      assert.deepEqual(seen, ['/app/socket']);
    } finally {
      server.off('upgrade', appListener);
    }
  });

  it("applies the app's event types with their schema and access rules", async () => {
    const client = await clients.connect(`ws://127.0.0.1:${port}/rt/events`);
    const notJoined = await client.expectError({ type: 'app.shout', room: 'r1', data: { text: 'hi' } });
    assert.equal(notJoined.code, ErrorCode.NotJoined);
    await client.join('r1');
    const invalid = await client.expectError({ type: 'app.shout', room: 'r1', data: { text: '' } });
    assert.equal(invalid.code, ErrorCode.InvalidData);
    const serverOnly = await client.expectError({ type: 'app.announce', room: 'r1', data: { text: 'x' } });
    assert.equal(serverOnly.code, ErrorCode.UnknownType);
    await client.request('app.shout', { room: 'r1', data: { text: 'hi' } });
    const shouted = await client.next((f) => f.type === 'app.shout', 'the shout');
    assert.deepEqual(shouted.data, { text: 'HI' });
  });

  it("lets the app's code emit events and change Yjs documents", async () => {
    const client = await clients.connect(`ws://127.0.0.1:${port}/rt/events`);
    await client.join('r2');
    const { position } = await swarm.emit('app.announce', { room: 'r2', data: { text: 'from code' } });
    const announced = await client.next((f) => f.type === 'app.announce', 'the announcement');
    assert.equal(announced.offset, position?.offset);
    const doc = new Y.Doc();
    doc.getText('t').insert(0, 'server text');
    await swarm.yjs.applyUpdate('r2-doc', Y.encodeStateAsUpdate(doc));
    const read = await swarm.yjs.getDoc('r2-doc');
    assert.equal(read.getText('t').toString(), 'server text');
    read.destroy();
  });
});

describe('attach options', () => {
  it('refuses a bad setting with the message its environment variable gets', async () => {
    const server = createServer();
    const expected = (() => {
      try {
        loadConfig({ MAX_CONNECTIONS: '0' });
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('MAX_CONNECTIONS=0 was accepted');
    })();
    await assert.rejects(attach(server, { config: { maxConnections: 0 }, drainOn: [] }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, expected);
      assert.equal(err.option, 'maxConnections');
      return true;
    });
    assert.equal(server.listenerCount('upgrade'), 0);
  });

  it('refuses a prefix that is not a path, and the demo page under a prefix', async () => {
    for (const prefix of ['rt', '/rt/', '/r t']) {
      await assert.rejects(
        attach(createServer(), { prefix, drainOn: [] }),
        /^ConfigError: prefix: must be a path/,
      );
    }
    await assert.rejects(
      attach(createServer(), { prefix: '/rt', demo: true, drainOn: [] }),
      /demo: the demo page/,
    );
  });

  it("drains without closing the app's server, which keeps serving the app", async () => {
    let swarm: Swarmcast | undefined;
    const server = createServer((req, res) => swarm!.http(req, res, () => res.end('the app')));
    swarm = await attach(server, { config: { logLevel: 'silent' }, drainOn: [] });
    const port = await listen(server);
    try {
      const clients = new OpenClients();
      const client = await clients.connect(`ws://127.0.0.1:${port}/events`);
      await swarm.drain();
      assert.equal((await within(client.closed, 'the close frame')).code, CloseCode.ServiceRestart);
      assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 503);
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/elsewhere`)).text(), 'the app');
      assert.ok(server.listening);
      assert.equal(await refusal(port, '/events'), 503);
      await swarm.close();
      assert.equal(server.listenerCount('upgrade'), 0);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('drains on SIGTERM and then lets the signal end a process that does not listen for it', async () => {
    const entry = path.join(__dirname, '..', '..', 'src', 'index.js');
    const script = `
      const server = require('node:http').createServer();
      require(${JSON.stringify(entry)}).attach(server, { config: { logLevel: 'silent' } }).then(() =>
        server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port)));`;
    const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      proc.once('exit', (code, signal) => resolve({ code, signal })),
    );
    try {
      const port = await within(
        new Promise<number>((resolve) =>
          proc.stdout.on('data', (chunk: Buffer) => {
            const found = /port (\d+)/.exec(chunk.toString());
            if (found) resolve(Number(found[1]));
          }),
        ),
        'the app to listen',
        15_000,
      );
      const clients = new OpenClients();
      const client = await clients.connect(`ws://127.0.0.1:${port}/events`);
      proc.kill('SIGTERM');
      assert.equal((await within(client.closed, 'the close frame')).code, CloseCode.ServiceRestart);
      assert.deepEqual(await within(exited, 'the process to end'), { code: null, signal: 'SIGTERM' });
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
  });
});
