import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { bundleClient, measureBrowserBuild } from '../../src/client/bundle';
import { packageRoot } from '../../src/demo/paths';

/** The figure docs/client.md records: "… **N bytes** minified and gzipped". */
function recordedGzipBytes(): number {
  const doc = readFileSync(path.join(packageRoot(), 'docs', 'client.md'), 'utf8');
  const match = /\*\*([\d,]+) bytes\*\* minified and gzipped/.exec(doc);
  assert.ok(match, 'docs/client.md records the gzipped size as "**N bytes** minified and gzipped"');
  return Number(match[1]!.replace(/,/g, ''));
}

/** Runs a script in a fresh node from the package root, so that `swarmcast/client` resolves through `exports`. */
function run(args: string[]): string {
  const result = spawnSync(process.execPath, args, { cwd: packageRoot(), encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim();
}

describe('the built client package', () => {
  // So that this file also runs after a bare tsc: the same steps `npm run build` runs.
  before(async () => {
    run([require.resolve('typescript/bin/tsc'), '-p', path.join('src', 'client', 'tsconfig.json')]);
    await bundleClient();
  });

  it('loads through package.json exports as CommonJS and as an ES module, with its declarations', () => {
    const names = 'Object.keys(m).sort().join()';
    const cjs = run(['-e', `const m = require('swarmcast/client'); console.log(${names})`]);
    const esm = run([
      '--input-type=module',
      '-e',
      `import * as m from 'swarmcast/client'; console.log(${names})`,
    ]);
    assert.equal(cjs, esm);
    assert.ok(cjs.split(',').includes('connect'), cjs);
    const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
      exports: Record<string, { types: string }>;
    };
    const entry = path.join(packageRoot(), pkg.exports['./client']!.types);
    const target = /export \* from '(.+)';/.exec(readFileSync(entry, 'utf8'))?.[1];
    assert.ok(target, 'index.d.ts re-exports the declarations');
    const declarations = readFileSync(path.join(path.dirname(entry), `${target}.d.ts`), 'utf8');
    assert.match(declarations, /export declare function connect</);
  });

  it('builds for browsers without any Node module, within twice the size docs/client.md records', async () => {
    // Platform "browser": esbuild fails the build on any node: import the client would pull in.
    const { gzipped, minified } = await measureBrowserBuild();
    const recorded = recordedGzipBytes();
    assert.ok(gzipped < 2 * recorded, `${gzipped} B gzipped, recorded ${recorded} B`);
    assert.ok(gzipped < 10 * 1024, `${gzipped} B gzipped: the target is under 10 KB`);
    console.log(`# browser build: ${minified} B minified, ${gzipped} B gzipped (recorded ${recorded} B)`);
  });
});
