import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOptions } from './bench/options';

describe('bench options', () => {
  const out = (...argv: string[]) => parseOptions(argv, '/docs', '/tmp/partial').outDir;

  it('writes a full run into the docs, and any partial run elsewhere unless --out says', () => {
    assert.equal(out(), '/docs');
    for (const partial of [
      ['--quick'],
      ['--only', 's9'],
      ['--systems', 'swarmcast'],
      ['--embedded'],
      ['--swarmcast', '/x'],
    ])
      assert.equal(out(...partial), '/tmp/partial', partial.join(' '));
    assert.equal(out('--only', 's9', '--out', '/mine'), '/mine');
    assert.equal(out('--out', '/mine'), '/mine');
  });
});
