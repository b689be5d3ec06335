import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { utimesSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CloseCode } from '../src/core/errors';
import { JsonClient } from './helpers/client';
import { eventsUrl, uniquePrefix } from './helpers/nodes';
import { freePort, TestRedis } from './helpers/redis';
import { waitFor, within } from './helpers/wait';

const root = path.join(__dirname, '..', '..');
/** `yarn dev` where yarn is installed (the README's command), else `npm run dev`: the same script. */
const runner = spawnSync('yarn', ['--version']).status === 0 ? ['yarn', 'dev'] : ['npm', 'run', 'dev'];
/** A file the dev script watches; touching it is a change as far as nodemon can tell. */
const WATCHED = path.join(root, 'src', 'demo', 'app', 'index.html');

interface DevNode {
  proc: ChildProcess;
  lines: string[];
  port: number;
  exited: Promise<number | null>;
}

/** The `msg` of each of the node's JSON log lines, in order, with its port when it has one. */
function messages(node: DevNode): Array<{ index: number; msg: string; port?: number }> {
  return node.lines.flatMap((line, index) => {
    if (!line.startsWith('{')) return [];
    const { msg, port } = JSON.parse(line) as { msg: string; port?: number };
    return [{ index, msg, port }];
  });
}

/** Starts the dev script (nodemon + ts-node) in its own process group, as a terminal does, and waits for its port. */
async function startDev(env: Record<string, string>): Promise<DevNode> {
  const proc = spawn(runner[0]!, runner.slice(1), {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const lines: string[] = [];
  for (const stream of [proc.stdout!, proc.stderr!]) {
    let buffered = '';
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      lines.push(...parts);
    });
  }
  const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
  const node: DevNode = { proc, lines, port: 0, exited };
  await waitFor(
    () => messages(node).some((m) => m.msg.startsWith('listening on port')),
    `${runner.join(' ')} to listen`,
    60_000,
  );
  node.port = messages(node).find((m) => m.msg.startsWith('listening on port'))!.port!;
  return node;
}

describe(`the dev script (${runner.join(' ')})`, () => {
  let redis: TestRedis;
  const nodes: DevNode[] = [];
  const clients: JsonClient[] = [];

  before(async () => {
    redis = await TestRedis.start();
  });
  after(async () => {
    for (const client of clients) client.socket.terminate();
    for (const node of nodes) {
      try {
        process.kill(-node.proc.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await redis.close();
  });

  it('starts local instances, one on a free port (PORT=0) and one on a given PORT, that form one cluster through REDIS_SERVER', async () => {
    const env = { REDIS_SERVER: `127.0.0.1:${redis.port}`, KEY_PREFIX: uniquePrefix('dev') };
    const given = await freePort();
    nodes.push(
      ...(await Promise.all([startDev({ ...env, PORT: '0' }), startDev({ ...env, PORT: String(given) })])),
    );
    assert.equal(nodes[1]!.port, given);
    const [a, b] = await Promise.all(nodes.map((node) => JsonClient.connect(eventsUrl(node.port))));
    clients.push(a!, b!);
    await a!.join('dev-room');
    await b!.join('dev-room');
    await a!.request('chat.message', { room: 'dev-room', data: { text: 'across dev nodes' } });
    await b!.next(
      (f) => f.type === 'chat.message' && (f.data as { text: string }).text === 'across dev nodes',
      'the message on the other dev node',
    );
  });

  it('on a file change drains the old instance first and starts the new one on the same port', async () => {
    const now = new Date();
    utimesSync(WATCHED, now, now);
    for (const [i, node] of nodes.entries()) {
      const closed = await within(clients[i]!.closed, 'the old instance to close the client', 60_000);
      assert.equal(closed.code, CloseCode.ServiceRestart);
      await waitFor(
        () => messages(node).filter((m) => m.msg.startsWith('listening on port')).length === 2,
        'the new instance to listen',
        60_000,
      );
      const log = messages(node);
      const drained = log.findIndex((m) => m.msg === 'drained');
      const listening = log.filter((m) => m.msg.startsWith('listening on port'));
      assert.ok(
        drained !== -1 && log[drained]!.index < listening[1]!.index,
        'drained before the restart listened',
      );
      assert.equal(listening[1]!.port, node.port, 'the same port after the restart');
      // The first beat of the new instance reaps at once: a missing goodbye would show here.
      assert.ok(!log.some((m) => m.msg.includes('without saying goodbye')), log.map((m) => m.msg).join('\n'));
    }
    const [a, b] = await Promise.all(nodes.map((node) => JsonClient.connect(eventsUrl(node.port))));
    clients.push(a!, b!);
    await a!.join('dev-room');
    await b!.join('dev-room');
    await a!.request('chat.message', { room: 'dev-room', data: { text: 'after the restart' } });
    await b!.next(
      (f) => f.type === 'chat.message' && (f.data as { text: string }).text === 'after the restart',
      'the message after the restart',
    );
  });

  it('ends quietly on Ctrl-C: the node drains and nodemon reports no crash', async () => {
    for (const node of nodes) process.kill(-node.proc.pid!, 'SIGINT');
    for (const node of nodes) {
      await within(node.exited, `${runner.join(' ')} to exit`, 30_000);
      const output = node.lines.join('\n');
      assert.ok(
        messages(node).some((m) => m.msg === 'drained'),
        output,
      );
      assert.doesNotMatch(output, /app crashed|Error|error Command failed/);
    }
  });
});
