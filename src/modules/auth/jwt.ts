import { errors, importSPKI, type JWTPayload, jwtVerify, type KeyLike } from 'jose';
import { z } from 'zod';
import type { AuthConfig } from '../../core/config';
import type { RoomGrants } from '../../core/connection';

/** The claims swarmcast reads; everything else in the token is ignored. */
const claimsSchema = z.object({
  sub: z.string().min(1).max(256),
  rooms: z.record(z.string().min(1).max(256), z.enum(['read', 'write'])).default({}),
  exp: z.number().optional(),
  iat: z.number().optional(),
});

/** A token that verified: who it is and what it grants. */
export interface VerifiedToken {
  readonly user: string;
  readonly grants: RoomGrants;
  /** Unix seconds; undefined when the token has no `exp`. */
  readonly expiresAt?: number;
  readonly issuedAt?: number;
}

/** Why a token was refused. The message is safe to show the client (it says nothing about the key). */
export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

type KeyedAuth = Exclude<AuthConfig, { mode: 'off' }>;

/**
 * Verifies tokens with exactly one algorithm (HS256 with a secret, or RS256/ES256 with a
 * public key), so `alg: none` and algorithm confusion (an HS256 token signed with the
 * public key as secret) are refused by jose before any claim is read.
 */
export class TokenVerifier {
  private constructor(
    private readonly config: KeyedAuth,
    private readonly key: KeyLike | Uint8Array,
    private readonly algorithm: string,
  ) {}

  static async create(config: KeyedAuth): Promise<TokenVerifier> {
    if (config.mode === 'hs256') return new TokenVerifier(config, config.secret, 'HS256');
    const key = await importSPKI(config.publicKeyPem, config.algorithm);
    return new TokenVerifier(config, key, config.algorithm);
  }

  get maxTokenBytes(): number {
    return this.config.maxTokenBytes;
  }

  /** Resolves with the token's identity, or rejects with a TokenError. */
  async verify(token: string): Promise<VerifiedToken> {
    if (Buffer.byteLength(token) > this.config.maxTokenBytes) {
      throw new TokenError(`token longer than ${this.config.maxTokenBytes} bytes`);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key, {
        algorithms: [this.algorithm],
        issuer: this.config.issuer,
        audience: this.config.audience,
      }));
    } catch (err) {
      throw new TokenError(describe(err));
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) {
      const issue = claims.error.issues[0];
      throw new TokenError(`bad claim ${issue?.path.join('.') || '?'}: ${issue?.message ?? 'invalid'}`);
    }
    const { sub, rooms, exp, iat } = claims.data;
    return { user: sub, grants: rooms, expiresAt: exp, issuedAt: iat };
  }
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature does not verify';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'token algorithm not accepted';
  if (err instanceof errors.JWTClaimValidationFailed) return `token claim "${err.claim}" is not accepted`;
  return 'token is not a valid JWT';
}
