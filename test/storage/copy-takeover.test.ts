import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { PostgresStore } from '../../src/backend/storage/postgres-store';
import { createLogger } from '../../src/core/log';
import { JsonClient } from '../helpers/client';
import { uniquePrefix } from '../helpers/nodes';
import { type NodeProcess, spawnNode } from '../helpers/process';
import { StorageTestbed } from '../helpers/storage-nodes';
import { waitFor, within } from '../helpers/wait';

/** The advisory lock the test holds while a copy must block inside its transaction. */
const GATE = 4242;
const EVENTS = 700;

describe('copy duty taken over after kill -9', () => {
  let testbed: StorageTestbed;
  const procs: NodeProcess[] = [];
  before(async () => {
    testbed = await StorageTestbed.start();
  });
  after(async () => {
    for (const proc of procs) proc.kill('SIGKILL');
    await Promise.all(procs.map((proc) => proc.exited));
    await testbed?.close();
  });

  it('has another node finish the copy of a node killed in the middle of it: nothing missing, nothing twice', async () => {
    const url = await testbed.postgres.database();
    const env = {
      REDIS_URL: testbed.redisUrl,
      DATABASE_URL: url,
      KEY_PREFIX: uniquePrefix('takeover'),
      PERSIST_DELAY_MS: '300',
      HISTORY_LIMIT: '5000',
      RATE_LIMIT_PER_SEC: '0',
    };
    const copier = await spawnNode({ ...env, NODE_ID: 'copier' });
    procs.push(copier);
    const survivor = await spawnNode({ ...env, NODE_ID: 'survivor' });
    procs.push(survivor);

    // A copy that reaches offset 501 waits inside its transaction until the gate opens,
    // so the kill lands in the middle of a copy: with its lock held and a batch committed or not.
    const gate = new Client({ connectionString: url });
    // The gate's session outlives the test's last query when the after hook stops PostgreSQL.
    gate.on('error', () => {});
    await gate.connect();
    await gate.query('CREATE TABLE gate_closed (x int)');
    await gate.query('INSERT INTO gate_closed VALUES (1)');
    await gate.query(`CREATE FUNCTION wait_at_gate() RETURNS trigger AS $$
      BEGIN
        IF NEW."offset" = 501 AND EXISTS (SELECT 1 FROM gate_closed) THEN PERFORM pg_advisory_lock(${GATE}); END IF;
        RETURN NEW;
      END $$ LANGUAGE plpgsql`);
    await gate.query(
      'CREATE TRIGGER gate BEFORE INSERT ON swarmcast_events FOR EACH ROW EXECUTE FUNCTION wait_at_gate()',
    );
    await gate.query('SELECT pg_advisory_lock($1)', [GATE]);

    const client = await JsonClient.connect(`ws://127.0.0.1:${copier.port}/events`);
    await client.join('big');
    let last = 0;
    for (let i = 0; i < EVENTS; i++) {
      client.send({ type: 'chat.message', room: 'big', data: { text: `e${i}` }, id: `m${i}` });
    }
    const lastAck = await client.next((f) => f.id === `m${EVENTS - 1}`, 'the last ack', 60_000);
    last = (lastAck.data as { offset: number }).offset;
    assert.ok(last > EVENTS);

    await waitFor(
      async () => {
        const waiting = await gate.query(
          "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted",
          [GATE],
        );
        return (waiting.rowCount ?? 0) > 0;
      },
      'the copier to block in the middle of its copy',
      15_000,
    );
    copier.kill('SIGKILL');
    await within(copier.exited, 'the copier to die', 5000);
    await gate.query('DELETE FROM gate_closed');
    await gate.query('SELECT pg_advisory_unlock($1)', [GATE]);

    const store = new PostgresStore({ url, log: createLogger('silent', 'test') });
    await store.open();
    try {
      await waitFor(
        async () => (await store.progress('big')).streams.events?.offset === last,
        'the survivor to finish the copy',
        40_000,
      );
      const page = await store.history('big', { limit: 10_000 });
      assert.deepEqual(
        page.events.map((e) => e.offset),
        Array.from({ length: last }, (_, i) => i + 1),
      );
      const texts = page.events
        .filter((e) => e.type === 'chat.message')
        .map((e) => (e.data as { text: string }).text);
      assert.deepEqual(
        texts,
        Array.from({ length: EVENTS }, (_, i) => `e${i}`),
      );
      const copiedBy = await gate.query<{ n: string }>(
        'SELECT count(*) AS n FROM swarmcast_events WHERE room = $1',
        ['big'],
      );
      assert.equal(Number(copiedBy.rows[0]!.n), last);
    } finally {
      await store.close();
      await gate.end();
      client.socket.terminate();
    }
  });
});
