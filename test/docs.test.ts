import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { OPTION_VARIABLES } from '../src/core/config';
import { CloseCode, ErrorCode } from '../src/core/errors';

const docs = path.join(__dirname, '..', '..', 'docs');
const read = (name: string) => readFileSync(path.join(docs, name), 'utf8');

describe('docs', () => {
  it('lists every error code and close code in docs/codes.md', () => {
    const codes = read('codes.md');
    for (const code of Object.values(ErrorCode))
      assert.ok(codes.includes(`\`${code}\``), `error code ${code}`);
    for (const [name, code] of Object.entries(CloseCode)) {
      assert.match(codes, new RegExp(`\\| ${code} \\| ${name} \\|`), `close code ${name} ${code}`);
    }
  });

  it('documents every environment variable the code reads in docs/configuration.md', () => {
    const configuration = read('configuration.md');
    const source = readFileSync(path.join(__dirname, '..', '..', 'src', 'core', 'config.ts'), 'utf8');
    const names = new Set([...source.matchAll(/['"]([A-Z][A-Z0-9_]{2,})['"]/g)].map((m) => m[1]!));
    assert.ok(names.size > 5);
    for (const name of names) assert.ok(configuration.includes(`\`${name}\``), `${name} in configuration.md`);
  });

  it('names every option of docs/configuration.md after its environment variable in camelCase', () => {
    for (const [option, [variable]] of Object.entries(OPTION_VARIABLES)) {
      if (option === 'production') continue;
      const camel = variable.toLowerCase().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
      assert.equal(option, camel, variable);
    }
  });
});
