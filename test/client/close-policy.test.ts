import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { type CloseAction, closeAction } from '../../src/client/close-policy';
import { CloseCode } from '../../src/core/errors';
import { packageRoot } from '../../src/demo/paths';

/** Column of docs/codes.md's close-code table that says what this client does. */
const COLUMN = 'swarmcast JSON client';

/** The action the column's text describes; undefined where it names none (`n/a`: never sent on /events). */
function actionIn(text: string): CloseAction | 'app' | undefined {
  if (text.includes('getToken')) return 'new-token';
  if (text.includes('at once')) return 'next-now';
  if (text.includes('stops')) return 'stop';
  if (text.startsWith('retries')) return 'retry';
  if (text === 'as the app wants') return 'app';
  return undefined;
}

/** code -> the column's text, from the close-code table of docs/codes.md. */
function documented(): Map<number, string> {
  const lines = readFileSync(path.join(packageRoot(), 'docs', 'codes.md'), 'utf8').split('\n');
  const header = lines.findIndex((line) => line.startsWith('| code | name |') && line.includes(COLUMN));
  assert.ok(header >= 0, `docs/codes.md has a close-code table with a "${COLUMN}" column`);
  const cells = (line: string) =>
    line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim());
  const column = cells(lines[header]!).indexOf(COLUMN);
  const rows = new Map<number, string>();
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const row = cells(line);
    rows.set(Number(row[0]), row[column]!);
  }
  return rows;
}

describe('the close-code table of the client', () => {
  it('does for every close code what the "swarmcast JSON client" column of docs/codes.md says', () => {
    const docs = documented();
    let checked = 0;
    for (const [name, code] of Object.entries(CloseCode)) {
      const text = docs.get(code);
      assert.ok(text !== undefined, `${name} (${code}) is in the table`);
      const action = actionIn(text);
      // 1000 is the app's own close; a server's 1000 is retried like any other code.
      if (action === undefined || action === 'app') continue;
      assert.equal(closeAction(code), action, `${name} (${code}): "${text}"`);
      checked++;
    }
    assert.ok(checked >= 8, `${checked} codes checked`);
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
