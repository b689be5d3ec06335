import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JsonClient } from './helpers/client';
import { eventsUrl, uniquePrefix } from './helpers/nodes';
import { TestRedis } from './helpers/redis';
import { waitFor } from './helpers/wait';

const root = path.join(__dirname, '..', '..');
/** `yarn dev` where yarn is installed (the README's command), else `npm run dev`: the same script. */
const runner = spawnSync('yarn', ['--version']).status === 0 ? ['yarn', 'dev'] : ['npm', 'run', 'dev'];

interface DevNode {
  proc: ChildProcess;
  lines: string[];
  port: number;
}

/** Starts the dev script (nodemon + ts-node) in its own process group, and waits for its port. */
async function startDev(env: Record<string, string>): Promise<DevNode> {
  const proc = spawn(runner[0]!, runner.slice(1), {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const lines: string[] = [];
  for (const stream of [proc.stdout!, proc.stderr!]) {
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n')));
  }
  const line = await waitFor(
    () => lines.find((l) => l.includes('"listening on port')),
    `${runner.join(' ')} to listen`,
    60_000,
  );
  const { port } = JSON.parse(line.slice(line.indexOf('{'))) as { port: number };
  return { proc, lines, port };
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

  it('starts local instances on free ports (PORT=0) that form one cluster through REDIS_SERVER', async () => {
    const env = { PORT: '0', REDIS_SERVER: `127.0.0.1:${redis.port}`, KEY_PREFIX: uniquePrefix('dev') };
    nodes.push(...(await Promise.all([startDev(env), startDev(env)])));
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
});
