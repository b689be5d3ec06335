import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { metricsExtension } from '../../src/modules/metrics/metrics-extension';
import { startNode } from '../helpers/nodes';

const root = path.join(__dirname, '..', '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sources(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

/**
 * The last argument of the call that starts at `open` (just after its parenthesis): pino
 * takes the message last, after the fields. Commas inside brackets and strings do not split.
 */
function lastArgument(text: string, open: number): string {
  const args: string[] = [];
  let depth = 1;
  let start = open;
  let i = open;
  for (; depth > 0 && i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '`' || c === '"') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (c === ',' && depth === 1) {
      args.push(text.slice(start, i));
      start = i + 1;
    }
  }
  args.push(text.slice(start, i - 1));
  // A trailing comma leaves an empty last argument.
  return (
    args
      .map((arg) => arg.trim())
      .filter((arg) => arg !== '')
      .at(-1) ?? ''
  );
}

/**
 * Every log message in src/: the string literals among the arguments of each
 * `log.<level>(…)` call. A template literal gives its fixed parts.
 */
function logMessages(): Array<{ where: string; parts: string[] }> {
  const found: Array<{ where: string; parts: string[] }> = [];
  for (const file of sources(path.join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const call of text.matchAll(/\b(?:log|logger)\??\.(?:fatal|error|warn|info|debug|trace)\(/g)) {
      const args = lastArgument(text, call.index + call[0].length);
      const where = `${path.relative(root, file)}:${text.slice(0, call.index).split('\n').length}`;
      for (const literal of args.matchAll(/'((?:[^'\\]|\\.)*)'|`((?:[^`\\]|\\.)*)`/g)) {
        const parts = (literal[1] ?? literal[2]!)
          .split(/\$\{[^}]*\}/)
          .map((p) => p.trim())
          .filter((p) => p.length > 2);
        if (parts.length > 0) found.push({ where, parts });
      }
    }
  }
  return found;
}

describe('docs/operations.md', () => {
  it('explains every log line the code writes', () => {
    const operations = readFileSync(path.join(root, 'docs', 'operations.md'), 'utf8');
    const messages = logMessages();
    assert.ok(messages.length > 20, `found only ${messages.length} log calls`);
    const missing = messages.filter(({ parts }) => !parts.every((part) => operations.includes(part)));
    assert.deepEqual(
      missing.map(({ where, parts }) => `${where}: ${parts.join(' … ')}`),
      [],
      'log messages missing from the "Log lines" section of docs/operations.md',
    );
  });

  it('lists every metric a node exposes', async () => {
    const operations = readFileSync(path.join(root, 'docs', 'operations.md'), 'utf8');
    const node = await startNode({ extensions: [metricsExtension()] });
    try {
      const text = await node.metrics.expose();
      const names = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
      assert.ok(names.length > 15);
      for (const name of names) assert.ok(operations.includes(`\`${name}\``), `${name} in operations.md`);
    } finally {
      await node.close();
    }
  });
});
