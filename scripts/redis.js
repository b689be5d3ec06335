#!/usr/bin/env node
// `npm run redis`: a private redis-server for a local cluster (`yarn dev`, `npm start`),
// in the foreground until Ctrl-C. It listens on 127.0.0.1 only, on REDIS_PORT (6380 by
// default, beside rather than on a system Redis's 6379), and keeps its data (AOF) under
// the project in .data/redis-<port>/, so a restart keeps the rooms and documents.
const { spawn } = require('node:child_process');
const { mkdirSync } = require('node:fs');
const path = require('node:path');
const { findProgram } = require('./setup');

const DEFAULT_PORT = 6380;

function main() {
  const raw = process.env.REDIS_PORT ?? String(DEFAULT_PORT);
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) {
    process.stderr.write(`swarmcast redis: REDIS_PORT must be a port number (1-65535), got "${raw}"\n`);
    return process.exit(2);
  }
  if (!findProgram('redis-server')) {
    process.stderr.write(
      'swarmcast redis: redis-server is not installed; install it with: sudo apt-get install -y redis-server (or run npm run setup as root)\n',
    );
    return process.exit(1);
  }
  const dir = path.join(__dirname, '..', '.data', `redis-${port}`);
  mkdirSync(dir, { recursive: true });
  process.stdout.write(
    `swarmcast redis: redis-server on 127.0.0.1:${port}, data in ${path.relative(process.cwd(), dir) || dir}; ` +
      `start nodes with REDIS_URL=redis://127.0.0.1:${port}\n`,
  );
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--save',
    '',
  ];
  const server = spawn('redis-server', args, { stdio: 'inherit' });
  // Ctrl-C reaches redis-server from the terminal itself (one process group): passing it on
  // as well would be a second SIGINT, which redis-server takes as "exit now, unsaved".
  // So SIGINT only waits for redis-server's shutdown; a plain kill (SIGTERM) is passed on.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => server.kill('SIGTERM'));
  server.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
}

main();
