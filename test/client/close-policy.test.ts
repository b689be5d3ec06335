import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { type CloseAction, closeAction } from '../../src/client/close-policy';
import { packageRoot } from '../../src/demo/paths';
import { CloseCode } from '../../src/errors';

/** The words of the "swarmcast client" column of docs/codes.md, by action. */
const WORDS: Record<CloseAction, string> = {
  retry: 'retry',
  'next-now': 'next url at once',
  'new-token': 'new token, else stop',
  stop: 'stop',
};

/** code -> the column's text, from the close-code table of docs/codes.md. */
function documented(): Map<number, string> {
  const lines = readFileSync(path.join(packageRoot(), 'docs', 'codes.md'), 'utf8').split('\n');
  const header = lines.findIndex(
    (line) => line.startsWith('| code | name |') && line.includes('swarmcast client'),
  );
  assert.ok(header >= 0, 'docs/codes.md has a close-code table with a "swarmcast client" column');
  const cells = (line: string) =>
    line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim());
  const column = cells(lines[header]!).indexOf('swarmcast client');
  const rows = new Map<number, string>();
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const row = cells(line);
    rows.set(Number(row[0]), row[column]!);
  }
  return rows;
}

describe('the close-code table of the client', () => {
  it('does for every close code what the "swarmcast client" column of docs/codes.md says', () => {
    const docs = documented();
    for (const [name, code] of Object.entries(CloseCode)) {
      assert.equal(docs.get(code), WORDS[closeAction(code)], `${name} (${code})`);
    }
    assert.equal(docs.size, Object.keys(CloseCode).length, 'every documented code is a CloseCode');
  });

  it('stops on 4400-4499 but for a token that expired, goes to the next url at once on 1012, else retries', () => {
    assert.equal(closeAction(4400), 'stop');
    assert.equal(closeAction(4499), 'stop');
    assert.equal(closeAction(CloseCode.Revoked), 'stop');
    assert.equal(closeAction(CloseCode.TokenExpired), 'new-token');
    assert.equal(closeAction(CloseCode.ServiceRestart), 'next-now');
    for (const code of [1000, 1001, 1006, 1011, 4000, 4399, 4500, 4508, 4599]) {
      assert.equal(closeAction(code), 'retry', String(code));
    }
  });
});
