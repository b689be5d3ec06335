import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from './redis';
import { waitFor, within } from './wait';

/** Where Debian's `postgresql` package puts the server binaries when they are not on PATH. */
function serverBinary(name: 'initdb' | 'postgres'): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    for (const version of readdirSync(root).sort().reverse()) {
      const candidate = path.join(root, version, 'bin', name);
      if (existsSync(candidate)) return candidate;
    }
  }
  throw new Error(
    `${name} not found: install PostgreSQL (apt-get install postgresql) or set TEST_DATABASE_URL`,
  );
}

/**
 * initdb and postgres refuse to run as root; as root they run as the `postgres` user
 * (spawned with its uid, so the server is this process's own child and gets its signals).
 */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString()),
  };
}

/**
 * PostgreSQL for one test file: a private server on a free port in a temporary
 * directory, or the server of `TEST_DATABASE_URL` when that is set (then `stop` and
 * `resume` are not available). Each test asks for its own database (`database()`);
 * `close` drops them and stops the private server.
 */
export class TestPostgres {
  private proc: ChildProcess | undefined;
  private readonly databases: string[] = [];
  private output: string[] = [];

  private constructor(
    /** A URL of the server's maintenance database, for CREATE/DROP DATABASE. */
    private readonly adminUrl: string,
    private readonly dir: string | undefined,
    readonly port: number,
  ) {}

  static async start(): Promise<TestPostgres> {
    const shared = process.env.TEST_DATABASE_URL;
    if (shared) return new TestPostgres(shared, undefined, Number(new URL(shared).port || 5432));
    const dir = mkdtempSync(path.join(tmpdir(), 'swarmcast-pg-'));
    const owner = serverUser();
    if (owner) chownSync(dir, owner.uid, owner.gid);
    const data = path.join(dir, 'data');
    execFileSync(
      serverBinary('initdb'),
      ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '--encoding=UTF8', '--locale=C'],
      { stdio: 'pipe', ...owner },
    );
    const port = await freePort();
    const server = new TestPostgres(`postgres://postgres@127.0.0.1:${port}/postgres`, dir, port);
    await server.launch();
    return server;
  }

  /** Whether this is a private server that the test may stop and start. */
  get private(): boolean {
    return this.dir !== undefined;
  }

  /** A new empty database for one test; its URL. */
  async database(): Promise<string> {
    const name = `swarmcast_${randomBytes(5).toString('hex')}`;
    await this.admin(`CREATE DATABASE ${name}`);
    this.databases.push(name);
    const url = new URL(this.adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  }

  /** Runs one statement on the maintenance database. */
  async admin(sql: string): Promise<void> {
    const client = new Client({ connectionString: this.adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  /** Stops the private server at once (as a crash would); `resume` starts it again with its data. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.running) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    // SIGQUIT is PostgreSQL's immediate shutdown: no checkpoint, clients cut off.
    proc.kill('SIGQUIT');
    await within(exited, 'postgres to stop', 15_000);
    this.proc = undefined;
  }

  /** Starts the private server again after `stop`; a no-op while it runs. */
  async resume(): Promise<void> {
    if (this.running) return;
    await this.launch();
  }

  private get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async close(): Promise<void> {
    if (this.dir) {
      await this.stop();
      rmSync(this.dir, { recursive: true, force: true });
      return;
    }
    for (const name of this.databases) await this.admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }

  private async launch(): Promise<void> {
    if (!this.dir)
      throw new Error('TEST_DATABASE_URL is set: the shared server cannot be stopped or started');
    const args = [
      '-D',
      path.join(this.dir, 'data'),
      '-p',
      String(this.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${this.dir}`,
      '-c',
      'fsync=off',
      '-c',
      'max_connections=100',
    ];
    this.output = [];
    const proc = spawn(serverBinary('postgres'), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...serverUser(),
    });
    this.proc = proc;
    for (const stream of [proc.stdout!, proc.stderr!]) {
      stream.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    }
    const failed = new Promise<never>((_, reject) =>
      proc.once('exit', (code) => reject(new Error(`postgres exited with ${code}: ${this.output.join('')}`))),
    );
    failed.catch(() => {});
    const answers = async () => {
      const client = new Client({ connectionString: this.adminUrl, connectionTimeoutMillis: 1000 });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('SELECT 1');
        return true;
      } catch {
        return false;
      } finally {
        await client.end().catch(() => {});
      }
    };
    await Promise.race([failed, waitFor(answers, 'postgres to accept connections', 20_000)]);
  }

  /** The server's log so far, for a failing test's message. */
  log(): string {
    if (!this.dir) return '';
    const file = path.join(this.dir, 'data', 'log');
    return existsSync(file) ? readFileSync(file, 'utf8') : this.output.join('');
  }
}
