import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runChaos } from './chaos-run';
import type { InjectedFault } from './faulty-node';
import { FAULTY_ENTRY } from './stack';

/** The distinct (room, offset) pairs a faulty node wrote it had broken. */
function injected(file: string): Set<string> {
  const set = new Set<string>();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return set;
  }
  for (const line of text.split('\n')) {
    if (!line) continue;
    const { room, offset } = JSON.parse(line) as { room: string; offset: number };
    set.add(`${room}#${offset}`);
  }
  return set;
}

describe('chaos run', { concurrency: false }, () => {
  it('loses, repeats and reorders nothing over two minutes of faults at random on correct nodes', async () => {
    const report = await runChaos({ minutes: 2, seed: 20, redis: 'single' });
    const faults = [...report.faults.values()].reduce((a, b) => a + b, 0);
    assert.ok(faults >= 10, `only ${faults} faults were injected:\n${report.table}`);
    assert.ok(report.acknowledged > 200, report.table);
    assert.deepEqual(
      {
        lost: report.lost,
        duplicated: report.duplicated,
        outOfOrder: report.outOfOrder,
        storedTwice: report.storedTwice,
      },
      { lost: 0, duplicated: 0, outOfOrder: 0, storedTwice: 0 },
      report.table,
    );
    assert.equal(report.passed, true, report.table);
  });

  const expectations: Record<InjectedFault, 'lost' | 'duplicated' | 'outOfOrder'> = {
    drop: 'lost',
    repeat: 'duplicated',
    reorder: 'outOfOrder',
  };
  for (const [mode, measure] of Object.entries(expectations) as Array<
    [InjectedFault, typeof expectations.drop]
  >) {
    it(`fails a run whose nodes ${mode} one event in a thousand, with that count as ${measure}`, async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'swarmcast-chaos-'));
      const file = path.join(dir, 'injected.jsonl');
      try {
        // No faults of the environment: every count the checker reports is the node's doing.
        const report = await runChaos({
          // Until both rooms are past offset 700, however fast the machine writes: the fault
          // at 500 done (a reorder needs the events after it), the one at 1500 far off.
          minutes: 0.1,
          untilOffset: 700,
          seed: 21,
          redis: 'single',
          faults: false,
          entry: FAULTY_ENTRY,
          env: { CHAOS_FAULT: mode, CHAOS_INJECTED_FILE: file },
          writerPauseMs: 0,
        });
        const broken = injected(file);
        assert.ok(broken.size >= 1, `the faulty node broke nothing:\n${report.table}`);
        const counts = { lost: report.lost, duplicated: report.duplicated, outOfOrder: report.outOfOrder };
        assert.deepEqual(
          counts,
          { lost: 0, duplicated: 0, outOfOrder: 0, [measure]: broken.size },
          report.table,
        );
        assert.equal(report.passed, false, report.table);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
