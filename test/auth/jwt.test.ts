import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/core/config';
import { TokenError, TokenVerifier } from '../../src/modules/auth/jwt';
import type { SwarmNode } from '../../src/node';
import { eventsUrl } from '../helpers/nodes';
import { keyPair, SECRET, sign, startAuthNodes, token, unsignedToken, upgrade } from './auth-helpers';

async function verifier(env: Record<string, string>): Promise<TokenVerifier> {
  const { auth } = loadConfig(env);
  assert.notEqual(auth.mode, 'off');
  return TokenVerifier.create(auth as Exclude<typeof auth, { mode: 'off' }>);
}

const refusedWith = (message: RegExp) => (err: unknown) =>
  err instanceof TokenError && message.test(err.message);

describe('TokenVerifier', () => {
  it('reads sub, rooms, exp and iat of an HS256 token', async () => {
    const v = await verifier({ AUTH_JWT_SECRET: SECRET });
    const got = await v.verify(
      await token({ sub: 'u1', rooms: { 'doc-*': 'write', lobby: 'read' }, iat: 1000 }),
    );
    assert.equal(got.user, 'u1');
    assert.deepEqual(got.grants, { 'doc-*': 'write', lobby: 'read' });
    assert.equal(got.issuedAt, 1000);
    assert.ok(got.expiresAt! > Date.now() / 1000);
  });

  it('says why a token is refused, without naming the key', async () => {
    const v = await verifier({ AUTH_JWT_SECRET: SECRET });
    await assert.rejects(v.verify(await token({ expiresIn: -1 })), refusedWith(/expired/));
    await assert.rejects(
      v.verify(await token({}, 'another-secret-of-at-least-thirty-two-bytes')),
      refusedWith(/signature/),
    );
    await assert.rejects(v.verify(unsignedToken({})), refusedWith(/algorithm|not a valid/));
    await assert.rejects(v.verify('a.b.c'), refusedWith(/not a valid JWT/));
    await assert.rejects(v.verify('x'.repeat(4097)), refusedWith(/longer than 4096/));
    await assert.rejects(
      v.verify(await token({ rooms: ['lobby'] as never })),
      refusedWith(/bad claim rooms/),
    );
  });

  it('checks iss and aud when configured', async () => {
    const v = await verifier({
      AUTH_JWT_SECRET: SECRET,
      AUTH_JWT_ISSUER: 'me',
      AUTH_JWT_AUDIENCE: 'swarmcast',
    });
    await assert.rejects(v.verify(await token({ iss: 'me' })), refusedWith(/aud/));
    await assert.rejects(v.verify(await token({ iss: 'you', aud: 'swarmcast' })), refusedWith(/iss/));
    assert.equal((await v.verify(await token({ iss: 'me', aud: 'swarmcast' }))).user, 'u1');
  });

  for (const [kind, alg] of [
    ['rsa', 'RS256'],
    ['ec', 'ES256'],
  ] as const) {
    it(`verifies ${alg} with a public key and refuses HS256 tokens signed with that public key`, async () => {
      const { privateKey, publicPem } = keyPair(kind);
      const v = await verifier({ AUTH_JWT_PUBLIC_KEY: publicPem });
      assert.equal((await v.verify(await sign({ sub: 'k1' }, alg, privateKey))).user, 'k1');
      // Algorithm confusion: the public key is public, so an HS256 "signature" with it proves nothing.
      const confused = await sign({ sub: 'k1' }, 'HS256', new TextEncoder().encode(publicPem));
      await assert.rejects(v.verify(confused), refusedWith(/algorithm/));
      await assert.rejects(v.verify(await token({ sub: 'k1' })), refusedWith(/algorithm/));
    });
  }
});

describe('a node with an ES256 public key', () => {
  it('opens for a token signed with the private key and refuses others with 401', async () => {
    const { privateKey, publicPem } = keyPair('ec');
    const [node] = (await startAuthNodes(1, {
      env: { AUTH_JWT_SECRET: '', AUTH_JWT_PUBLIC_KEY: publicPem },
    })) as [SwarmNode];
    try {
      const good = await upgrade(eventsUrl(node, `?token=${await sign({ sub: 'k' }, 'ES256', privateKey)}`));
      assert.equal(good.status, 101);
      good.socket?.terminate();
      const other = keyPair('ec');
      const bad = await upgrade(
        eventsUrl(node, `?token=${await sign({ sub: 'k' }, 'ES256', other.privateKey)}`),
      );
      assert.equal(bad.status, 401);
    } finally {
      await node.close();
    }
  });
});
