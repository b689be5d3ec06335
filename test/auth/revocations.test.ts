import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REVOCATION_TTL_MS, Revocations } from '../../src/modules/auth/revocations';

describe('Revocations', () => {
  it('refuses tokens issued at or before the revocation, for all rooms or one', () => {
    let now = 100_000;
    const revocations = new Revocations(() => now);
    revocations.record('u1', undefined, 100);
    revocations.record('u2', 'doc-1', 100);
    assert.equal(revocations.revoked('u1', 100), true);
    assert.equal(revocations.revoked('u1', 99, 'any-room'), true);
    assert.equal(revocations.revoked('u1', 101), false);
    assert.equal(revocations.revoked('u1', undefined), true, 'no iat counts as issued at 0');
    assert.equal(revocations.revoked('u2', 50), false, 'a room revocation leaves other rooms');
    assert.equal(revocations.revoked('u2', 50, 'doc-1'), true);
    assert.equal(revocations.revoked('u2', 50, 'doc-2'), false);
    now = 100_000 + REVOCATION_TTL_MS;
    assert.equal(revocations.revoked('u1', 50), false, 'forgotten a TTL after the revocation');
    revocations.record('u3', undefined, now / 1000);
    assert.equal(revocations.size, 1, 'expired entries are pruned');
  });
});
