import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accessTo, satisfies } from '../../src/modules/auth/grants';

describe('room grants', () => {
  it('grants exact names and * patterns', () => {
    const grants = { lobby: 'read', 'doc-*': 'write', '*-public': 'read' } as const;
    assert.equal(accessTo(grants, 'lobby'), 'read');
    assert.equal(accessTo(grants, 'doc-1'), 'write');
    assert.equal(accessTo(grants, 'doc-'), 'write', '* matches the empty string');
    assert.equal(accessTo(grants, 'news-public'), 'read');
    assert.equal(accessTo(grants, 'lobby2'), undefined);
    assert.equal(accessTo(grants, 'xdoc-1'), undefined, 'patterns are anchored');
  });

  it('prefers an exact name, then the most specific pattern', () => {
    const grants = {
      '*': 'read',
      'doc-*': 'write',
      'doc-secret-*': 'read',
      'doc-secret-7': 'write',
    } as const;
    assert.equal(accessTo(grants, 'anything'), 'read');
    assert.equal(accessTo(grants, 'doc-1'), 'write');
    assert.equal(accessTo(grants, 'doc-secret-1'), 'read');
    assert.equal(accessTo(grants, 'doc-secret-7'), 'write');
  });

  it('treats regex characters in room names literally', () => {
    const grants = { 'a.b*': 'write', '(x)': 'read' } as const;
    assert.equal(accessTo(grants, 'a.b1'), 'write');
    assert.equal(accessTo(grants, 'aXb1'), undefined);
    assert.equal(accessTo(grants, '(x)'), 'read');
    assert.equal(accessTo(grants, 'x'), undefined);
  });

  it('lets write satisfy read, and nothing satisfy server', () => {
    assert.equal(satisfies('write', 'read'), true);
    assert.equal(satisfies('read', 'write'), false);
    assert.equal(satisfies(undefined, 'read'), false);
    assert.equal(satisfies(undefined, 'connect'), true);
    assert.equal(satisfies('write', 'server'), false);
  });
});
