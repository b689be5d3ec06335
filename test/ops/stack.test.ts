import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../../src/core/config';
import { spawnNode } from '../helpers/process';
import { freePort } from '../helpers/redis';

const root = path.join(__dirname, '..', '..', '..');
const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');

/** Where a fresh machine lacks the docker client, say so in the test output instead of passing quietly. */
const docker = spawnSync('docker', ['--version'], { encoding: 'utf8' });
const noDocker =
  docker.error || docker.status !== 0
    ? 'SKIPPED: no docker client on PATH, so `docker stack config -c dev-stack.yml` was not checked'
    : false;

interface StackService {
  image: string;
  command?: string[];
  environment: Record<string, string>;
  ports?: Array<{ target: number; published: number | string; mode: string }>;
  networks: Record<string, unknown>;
  volumes?: Array<{ type: string; source: string; target: string }>;
  stop_signal?: string;
  stop_grace_period?: string;
  healthcheck?: { test: string[] };
  deploy: {
    replicas: number;
    update_config?: { order?: string; failure_action?: string; parallelism?: number; monitor?: string };
    rollback_config?: { order?: string };
    restart_policy?: { condition?: string };
  };
}
interface Stack {
  services: Record<string, StackService>;
  networks: Record<string, { driver?: string }>;
  volumes: Record<string, unknown>;
}

/** `docker stack config` of dev-stack.yml, parsed: what Swarm would deploy after interpolation. */
function stackConfig(env: Record<string, string> = {}): Stack {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        !['ADMIN_TOKEN', 'SWARMCAST_IMAGE', 'KEY_PREFIX', 'AUTH_DISABLED', 'AUTH_JWT_SECRET'].includes(k),
    ),
  );
  const result = spawnSync('docker', ['stack', 'config', '-c', 'dev-stack.yml'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...clean, ...env },
    timeout: 30_000,
  });
  assert.equal(result.status, 0, `docker stack config failed:\n${result.stderr}`);
  return parse(result.stdout) as Stack;
}

/** Docker durations as Compose writes them: 30s, 1m30s, 500ms. */
function durationMs(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  for (const [, value, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g))
    total += Number(value) * units[unit!]!;
  return total;
}

/** Runs a healthcheck's CMD array, as Docker would, with `env`; resolves with its exit code. */
function runHealthcheck(command: string[], env: Record<string, string>): number | null {
  assert.equal(command[0], 'node');
  return spawnSync(process.execPath, command.slice(1), { env: { ...process.env, ...env }, timeout: 10_000 })
    .status;
}

/** The configuration a task of the stack starts with: the image's ENV, then the stack's environment. */
function taskConfig(environment: Record<string, string>) {
  const joined = dockerfile.replace(/\\\n\s*/g, ' ');
  const image = Object.fromEntries(
    [...joined.matchAll(/^ENV (.+)$/gm)].flatMap((m) =>
      [...m[1]!.matchAll(/([A-Z_]+)=(\S+)/g)].map((kv) => [kv[1]!, kv[2]!]),
    ),
  );
  return loadConfig({ ...image, ...environment });
}

/** How long main.ts may take after SIGTERM: the drain timeout plus its 2 s guard. */
const EXIT_GUARD_MS = 2000;

describe('dev-stack.yml', { skip: noDocker }, () => {
  it('passes `docker stack config` with three start-first replicas that roll back, and one Redis', () => {
    const stack = stackConfig();
    const app = stack.services.swarmcast!;
    assert.equal(app.deploy.replicas, 3);
    assert.equal(app.deploy.update_config?.order, 'start-first');
    assert.equal(app.deploy.update_config?.failure_action, 'rollback');
    assert.equal(app.deploy.update_config?.parallelism, 1);
    assert.equal(app.deploy.rollback_config?.order, 'start-first');
    assert.equal(app.deploy.restart_policy?.condition, 'any');
    assert.equal(app.stop_signal, 'SIGTERM');
    assert.ok(app.healthcheck?.test.some((part) => part.includes('/healthz')));
    assert.deepEqual(
      app.ports?.map((p) => [p.target, p.mode]),
      [[8080, 'ingress']],
    );
    assert.equal(app.image, 'swarmcast:dev');

    const redisUrl = new URL(app.environment.REDIS_URL!);
    const redis = stack.services[redisUrl.hostname];
    assert.ok(redis, `REDIS_URL names the service "${redisUrl.hostname}"`);
    assert.equal(redis.deploy.replicas, 1);
    assert.match(redis.command?.join(' ') ?? '', /--appendonly yes/);
    const data = redis.volumes?.find((v) => v.target === '/data');
    assert.equal(data?.type, 'volume');
    assert.ok(data && data.source in stack.volumes, 'a named volume for /data');

    for (const service of [app, redis]) {
      for (const network of Object.keys(service.networks))
        assert.equal(stack.networks[network]?.driver, 'overlay');
    }
    assert.ok(
      Object.keys(app.networks).some((n) => n in redis.networks),
      'app and Redis share a network',
    );
  });

  it('gives the nodes one PostgreSQL on a named volume through DATABASE_URL', () => {
    const stack = stackConfig();
    const app = stack.services.swarmcast!;
    const databaseUrl = new URL(app.environment.DATABASE_URL!);
    assert.equal(databaseUrl.protocol, 'postgres:');
    const postgres = stack.services[databaseUrl.hostname];
    assert.ok(postgres, `DATABASE_URL names the service "${databaseUrl.hostname}"`);
    assert.equal(postgres.deploy.replicas, 1);
    assert.equal(postgres.environment.POSTGRES_USER, databaseUrl.username);
    assert.equal(postgres.environment.POSTGRES_PASSWORD, decodeURIComponent(databaseUrl.password));
    assert.equal(postgres.environment.POSTGRES_DB, databaseUrl.pathname.slice(1));
    const data = postgres.volumes?.find((v) => v.target === '/var/lib/postgresql/data');
    assert.equal(data?.type, 'volume');
    assert.ok(data && data.source in stack.volumes, 'a named volume for the database');
    assert.ok(
      Object.keys(app.networks).some((n) => n in postgres.networks),
      'the nodes and PostgreSQL share a network',
    );
  });

  it('gives the node a drain that ends inside the stop grace period', () => {
    const app = stackConfig().services.swarmcast!;
    const config = taskConfig(app.environment);
    assert.equal(config.production, true, 'the image runs with NODE_ENV=production');
    assert.equal(config.port, 8080);
    assert.equal(config.drainTimeoutMs, 20_000, 'the stack overrides the image default');
    assert.ok(config.drainTimeoutMs >= 5000, 'a drain long enough for clients to answer the close frame');
    assert.ok(
      config.drainTimeoutMs + EXIT_GUARD_MS < durationMs(app.stop_grace_period ?? '10s'),
      `DRAIN_TIMEOUT_MS ${config.drainTimeoutMs} + ${EXIT_GUARD_MS} < stop_grace_period ${app.stop_grace_period}`,
    );
  });

  it('passes ADMIN_TOKEN through from the deploying shell, and leaves the admin API off without it', () => {
    assert.equal(taskConfig(stackConfig().services.swarmcast!.environment).adminToken, undefined);
    const token = 'a-deploy-token-0123456789abcdef';
    const app = stackConfig({ ADMIN_TOKEN: token }).services.swarmcast!;
    assert.equal(taskConfig(app.environment).adminToken, token);
  });

  it('starts open out of the box, and checks tokens when the deploying shell gives a secret', () => {
    assert.equal(taskConfig(stackConfig().services.swarmcast!.environment).auth.mode, 'off');
    const secret = 'a-deploy-secret-of-at-least-thirty-two-bytes';
    const app = stackConfig({ AUTH_DISABLED: 'false', AUTH_JWT_SECRET: secret }).services.swarmcast!;
    assert.equal(taskConfig(app.environment).auth.mode, 'hs256');
  });

  it('has a healthcheck command that passes against a live node and fails against a dead port', async () => {
    const test = stackConfig().services.swarmcast!.healthcheck!.test;
    assert.equal(test[0], 'CMD');
    const node = await spawnNode();
    try {
      assert.equal(runHealthcheck(test.slice(1), { PORT: String(node.port) }), 0);
    } finally {
      node.kill('SIGTERM');
      await node.exited;
    }
    assert.equal(runHealthcheck(test.slice(1), { PORT: String(await freePort()) }), 1);
  });
});

describe('Dockerfile', () => {
  const instructions = dockerfile
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'));
  const runtime = instructions.slice(instructions.findIndex((line) => /^FROM .* AS runtime$/.test(line)));

  it('builds with `npm run build` and runs production dependencies only, as a non-root user', () => {
    assert.ok(instructions.some((line) => line === 'RUN npm run build'));
    assert.ok(runtime.some((line) => /^RUN npm ci --omit=dev --ignore-scripts/.test(line)));
    assert.ok(runtime.some((line) => /^COPY --from=build \/app\/dist /.test(line)));
    const user = runtime.filter((line) => line.startsWith('USER ')).at(-1);
    assert.ok(user && !/^USER (root|0)\b/.test(user), `runs as ${user}`);
    assert.ok(runtime.includes('STOPSIGNAL SIGTERM'));
    const cmd = runtime.find((line) => line.startsWith('CMD '));
    assert.deepEqual(JSON.parse(cmd!.slice(4)), ['node', 'dist/src/main.js']);
    // What CMD starts is what `npm run build` produced here.
    assert.ok(existsSync(path.join(root, 'dist', 'src', 'main.js')));
  });

  it('drains within Docker’s default 10 s stop timeout', () => {
    const env = runtime.find((line) => line.startsWith('ENV '))!;
    const drain = Number(/DRAIN_TIMEOUT_MS=(\d+)/.exec(env)?.[1]);
    assert.ok(drain > 0 && drain + EXIT_GUARD_MS < 10_000, `DRAIN_TIMEOUT_MS=${drain}`);
  });

  it('has a HEALTHCHECK on /healthz that passes against a live node and fails against a dead port', async () => {
    const line = runtime.find((l) => l.startsWith('HEALTHCHECK '))!;
    const command = JSON.parse(/ CMD (\[.*\])$/.exec(line)![1]!) as string[];
    assert.ok(command.some((part) => part.includes('/healthz')));
    const node = await spawnNode();
    try {
      assert.equal(runHealthcheck(command, { PORT: String(node.port) }), 0);
      assert.equal(runHealthcheck(command, { PORT: '', SERVER_PORT: String(node.port) }), 0);
    } finally {
      node.kill('SIGTERM');
      await node.exited;
    }
    assert.equal(runHealthcheck(command, { PORT: String(await freePort()) }), 1);
  });

  it('keeps node_modules, dist and .git out of the build context', () => {
    const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', 'dist', '.git']) assert.ok(ignored.includes(entry), entry);
  });
});
