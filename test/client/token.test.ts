import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expiryOf, refreshDelay } from '../../src/client/token';
import { token } from '../auth/auth-helpers';

describe('token expiry in the client', () => {
  it("reads a JWT's exp, and nothing from what is not a JWT", async () => {
    const jwt = await token({ sub: 'u1', expiresIn: 600 });
    const exp = expiryOf(jwt)!;
    assert.ok(Math.abs(exp - (Date.now() + 600_000)) < 2000);
    assert.equal(expiryOf('opaque-api-key'), undefined);
    assert.equal(expiryOf('a.%%%.c'), undefined);
  });

  it('refreshes the margin before expiry, or at half the remaining life when that is sooner', () => {
    assert.equal(refreshDelay(600_000, 0, 30_000), 570_000);
    assert.equal(refreshDelay(2000, 0, 30_000), 1000);
    assert.equal(refreshDelay(1000, 5000, 30_000), 0);
  });
});
