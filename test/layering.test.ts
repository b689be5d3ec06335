import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

const root = path.join(__dirname, '..', '..');
const config = path.join(root, '.dependency-cruiser.cjs');
const depcruise = path.join(root, 'node_modules', '.bin', 'depcruise');

/** Runs the layering check of `npm test` on the `src/` under `cwd`. */
function check(cwd: string): { status: number | null; output: string } {
  const run = spawnSync(depcruise, ['src', '--config', config, '--output-type', 'err'], {
    cwd,
    encoding: 'utf8',
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('the layering check', () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** A tree of TypeScript files under src/, and the tsconfig the check reads. */
  function tree(files: Record<string, string>): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'swarmcast-layering-'));
    dirs.push(dir);
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'node16', strict: true }, include: ['src'] }),
    );
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    return dir;
  }

  it('passes on this repository’s src/', () => {
    const result = check(root);
    assert.equal(result.status, 0, result.output);
  });

  it('fails on an import cycle, type-only imports included', () => {
    const result = check(
      tree({
        'src/a.ts': "import type { B } from './b';\nexport type A = { b?: B };\n",
        'src/b.ts': "import type { A } from './a';\nexport type B = { a?: A };\n",
      }),
    );
    assert.notEqual(result.status, 0);
    assert.match(result.output, /no-cycles/);
  });

  it('fails on an import of a concrete backend from outside src/backend/, and allows the factory', () => {
    const files = {
      'src/backend/memory/memory-backend.ts': 'export class MemoryBackend {}\n',
      'src/backend/redis/redis-backend.ts': 'export class RedisBackend {}\n',
      'src/backend/index.ts':
        "import { MemoryBackend } from './memory/memory-backend';\nimport { RedisBackend } from './redis/redis-backend';\nexport const pick = (redis: boolean) => (redis ? new RedisBackend() : new MemoryBackend());\n",
    };
    assert.equal(check(tree(files)).status, 0, 'the factory may pick a backend');
    const result = check(
      tree({
        ...files,
        'src/yjs/store.ts':
          "import { RedisBackend } from '../backend/redis/redis-backend';\nexport const b = new RedisBackend();\n",
      }),
    );
    assert.notEqual(result.status, 0);
    assert.match(result.output, /backends-behind-the-seam/);
    assert.match(result.output, /src\/yjs\/store\.ts/);
  });
});
