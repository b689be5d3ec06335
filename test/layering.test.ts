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
        'src/modules/yjs/store.ts':
          "import { RedisBackend } from '../../backend/redis/redis-backend';\nexport const b = new RedisBackend();\n",
      }),
    );
    assert.notEqual(result.status, 0);
    assert.match(result.output, /backends-behind-the-seam/);
    assert.match(result.output, /src\/modules\/yjs\/store\.ts/);
  });

  it('fails when the core imports a module, and when a backend does', () => {
    const files = {
      'src/modules/yjs/yjs-log.ts': 'export const STREAM = "yjs";\n',
      'src/core/rooms/room-hub.ts': 'export const hub = 1;\n',
    };
    assert.equal(check(tree(files)).status, 0, 'modules and core side by side pass');
    const core = check(
      tree({
        ...files,
        'src/core/rooms/room-hub.ts':
          "import { STREAM } from '../../modules/yjs/yjs-log';\nexport const s = STREAM;\n",
      }),
    );
    assert.notEqual(core.status, 0);
    assert.match(core.output, /core-knows-no-module/);
    const backend = check(
      tree({
        ...files,
        'src/backend/redis/keys.ts':
          "import { STREAM } from '../../modules/yjs/yjs-log';\nexport const k = STREAM;\n",
      }),
    );
    assert.notEqual(backend.status, 0);
    assert.match(backend.output, /backends-know-no-module/);
  });

  it('fails when a module imports the node instead of its Host, and when the client imports the server', () => {
    const files = {
      'src/node.ts': 'export class SwarmNode {}\n',
      'src/core/protocol/wire.ts': 'export type Frame = { type: string };\n',
      'src/core/log.ts': 'export const log = 1;\n',
    };
    const module = check(
      tree({
        ...files,
        'src/modules/auth/auth.ts': "import { SwarmNode } from '../../node';\nexport const n = SwarmNode;\n",
      }),
    );
    assert.notEqual(module.status, 0);
    assert.match(module.output, /modules-see-the-host-interface/);
    const wireOnly = tree({
      ...files,
      'src/client/client.ts': "import type { Frame } from '../core/protocol/wire';\nexport type F = Frame;\n",
    });
    assert.equal(check(wireOnly).status, 0, 'the client may share the wire types');
    const client = check(
      tree({
        ...files,
        'src/client/client.ts': "import { log } from '../core/log';\nexport const l = log;\n",
      }),
    );
    assert.notEqual(client.status, 0);
    assert.match(client.output, /client-stands-alone/);
  });
});
