import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { SCHEMA_VERSION } from '../../src/backend/storage/schema-version';
import { TestPostgres } from '../helpers/postgres';
import { spawnNode } from '../helpers/process';
import { freePort } from '../helpers/redis';
import { within } from '../helpers/wait';

const MAIN = path.join(__dirname, '..', '..', 'src', 'main.js');

/** Runs a node process that is expected to stop at start; its exit code and output. */
async function failedStart(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const proc = spawn(process.execPath, [MAIN], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  proc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await within(
    new Promise<number | null>((resolve) => proc.once('exit', resolve)),
    'the node to stop',
    20_000,
  ).catch((err: unknown) => {
    proc.kill('SIGKILL');
    throw err;
  });
  return { code, output };
}

describe('a node starting with storage', () => {
  let postgres: TestPostgres;
  const dirs: string[] = [];
  before(async () => {
    postgres = await TestPostgres.start();
  });
  after(async () => {
    await postgres.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('stops with a message naming DATABASE_URL when the database cannot be reached', async () => {
    const port = await freePort();
    const { code, output } = await failedStart({ DATABASE_URL: `postgres://u:hunter2@127.0.0.1:${port}/db` });
    assert.equal(code, 2);
    assert.match(output, /cannot start: DATABASE_URL: cannot connect to postgres:\/\/u:\*\*\*@127\.0\.0\.1/);
    assert.doesNotMatch(output, /hunter2/);
  });

  it('stops with a message naming DATABASE_URL when its schema is newer than the code', async () => {
    const url = await postgres.database();
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.query('CREATE TABLE swarmcast_schema (version integer NOT NULL)');
    await client.query('INSERT INTO swarmcast_schema VALUES ($1)', [SCHEMA_VERSION + 5]);
    await client.end();
    const { code, output } = await failedStart({ DATABASE_URL: url });
    assert.equal(code, 2);
    assert.match(
      output,
      new RegExp(
        `DATABASE_URL: the database schema is version ${SCHEMA_VERSION + 5}, newer than this code's ${SCHEMA_VERSION}`,
      ),
    );
  });

  it('says in the start-up log where rooms are kept', async () => {
    const url = await postgres.database();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'swarmcast-start-'));
    dirs.push(dataDir);
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        { DATABASE_URL: url },
        /"storage: PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/swarmcast_\w+; new events are copied within 5000 ms"/,
      ],
      [
        { DATA_DIR: dataDir },
        /"storage: the file .*swarmcast\.sqlite; new events are copied within 5000 ms"/,
      ],
      [{ STORAGE: 'none' }, /"storage off \(STORAGE=none\): rooms live only in this process/],
    ];
    for (const [env, line] of cases) {
      const node = await spawnNode(env);
      const exited = node.exited;
      node.kill('SIGTERM');
      await within(exited, 'the node to stop', 15_000);
      assert.match(node.lines.join('\n'), line);
    }
  });
});
