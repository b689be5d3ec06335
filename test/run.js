#!/usr/bin/env node
// Runs every compiled test file with node's own test runner. Node 20's `--test` takes
// files, not globs, so this finds them. `npm test -- name` runs only files whose path
// contains `name`.
const { spawnSync } = require('node:child_process');
const { readdirSync, statSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', 'dist', 'test');
const filters = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) walk(full);
    else if (name.endsWith('.test.js') && (filters.length === 0 || filters.some((f) => full.includes(f))))
      files.push(full);
  }
})(root);
files.sort();
if (files.length === 0) {
  console.error(`no test files under ${root}${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
// Files that load the whole machine (the quick benchmark starts every peer) run alone,
// after the rest, so that neither they nor the others fail for want of CPU.
const alone = files.filter((file) => file.endsWith('bench-quick.test.js'));
const together = files.filter((file) => !alone.includes(file));
let status = 0;
for (const [batch, batchConcurrency, what] of [
  [together, concurrency, `${together.length} test files, ${concurrency} at a time`],
  [alone, '1', 'the quick benchmark, alone (about 3 minutes; its progress follows)'],
]) {
  if (batch.length === 0) continue;
  process.stdout.write(`swarmcast tests: ${what}\n`);
  const result = spawnSync(
    process.execPath,
    // --test-force-exit: a file whose tests have all finished ends even if a handle it leaked
    // (an ioredis client reconnecting to a torn-down Redis Cluster was one) keeps its
    // event loop alive; without it one leak hangs the whole run, with every test passed.
    [
      '--test',
      '--test-force-exit',
      `--test-concurrency=${batchConcurrency}`,
      '--test-reporter=spec',
      ...batch,
    ],
    {
      stdio: 'inherit',
      env: { LOG_LEVEL: 'silent', ...process.env },
    },
  );
  if (result.status !== 0) status = result.status ?? 1;
}
process.exit(status);
