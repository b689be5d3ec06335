import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { UpgradeDecision } from '../../core/access-hooks';
import type { Connection } from '../../core/connection';
import { CloseCode, ErrorCode, SwarmError } from '../../core/errors';
import { leaveRoom } from '../../core/events/builtin/room';
import { type Access, type AnyEventDefinition, defineEvent } from '../../core/events/event-definition';
import type { Extension, Host } from '../../core/host';
import { tokenFrom } from '../../core/http/token-source';
import type { RefreshAnswer } from '../../core/protocol/wire';
import { accessTo, satisfies } from './grants';
import { TokenError, TokenVerifier, type VerifiedToken } from './jwt';
import { REVOCATION_TTL_MS, Revocations } from './revocations';
import { revokeEvent } from './revoke';
import { Sessions } from './sessions';

export const REFRESH_EVENT = 'auth.refresh';

/** How often connections are checked for an expired token: the close comes at most this late. */
const EXPIRY_SWEEP_MS = 1000;

/**
 * Access control for one node: checks the token at every WebSocket upgrade, room access
 * on every event (the router's authorizer), closes connections whose token expired
 * (4401) unless refreshed with `auth.refresh`, and applies `user.revoke` (4403).
 * With no key configured the node runs open and says so loudly. One instance per node.
 */
export class AuthExtension implements Extension {
  readonly name = 'auth';
  readonly revocations = new Revocations();
  readonly sessions = new Sessions();
  private verifier: TokenVerifier | undefined;
  private node: Host | undefined;
  private sweep: NodeJS.Timeout | undefined;
  private readonly expired = new WeakSet<Connection>();

  async install(node: Host): Promise<void> {
    if (this.node) throw new Error('an AuthExtension serves one node; create one per node');
    this.node = node;
    const store = node.backend.revocations;
    node.registry.register(this.refreshEvent());
    node.registry.register(revokeEvent(this.revocations, store));
    try {
      for (const { user, room, at } of await store.recent(REVOCATION_TTL_MS)) {
        this.revocations.record(user, room, at);
      }
    } catch (err) {
      node.log.warn({ err }, 'could not read past revocations; only new ones apply on this node');
    }
    const auth = node.config.auth;
    if (auth.mode === 'off') {
      node.log.warn(
        auth.disabled
          ? 'AUTH IS DISABLED (AUTH_DISABLED=true): anyone may connect, join and write every room'
          : 'AUTH IS OFF: no AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY is set, so anyone may connect, join and write every room. Set a key before exposing this node.',
      );
      return;
    }
    this.verifier = await TokenVerifier.create(auth);
    node.addAuthenticator((req, url, room) => this.authenticate(req, url, room));
    node.addAuthorizer((conn, access, room) => this.authorize(conn, access, room));
    this.sweep = setInterval(() => this.closeExpired(), EXPIRY_SWEEP_MS);
    this.sweep.unref();
    const algorithm = auth.mode === 'hs256' ? 'HS256' : auth.algorithm;
    node.log.info({ algorithm }, 'auth on: tokens required');
  }

  close(): void {
    clearInterval(this.sweep);
  }

  /** The upgrade check: 401 without a valid token, 403 when it grants nothing for the Yjs room. */
  async authenticate(req: IncomingMessage, url: URL, room: string | undefined): Promise<UpgradeDecision> {
    const token = tokenFrom(req, url);
    if (!token) {
      return {
        ok: false,
        status: 401,
        message: 'a token is required: ?token=, Authorization: Bearer, or subprotocol swarmcast.token.<jwt>',
      };
    }
    try {
      const verified = await this.verifier!.verify(token);
      if (this.revocations.revoked(verified.user, verified.issuedAt)) {
        return { ok: false, status: 403, message: 'access revoked; get a new token' };
      }
      if (room !== undefined) {
        const granted = satisfies(accessTo(verified.grants, room), 'read');
        if (!granted || this.revocations.revoked(verified.user, verified.issuedAt, room)) {
          return { ok: false, status: 403, message: `no access to room "${room}"` };
        }
      }
      return { ok: true, identity: verified };
    } catch (err) {
      if (err instanceof TokenError) return { ok: false, status: 401, message: err.message };
      this.node?.log.error({ err }, 'token check failed');
      return { ok: false, status: 401, message: 'token could not be checked' };
    }
  }

  /** The router's authorizer: the connection's current grants, minus revocations. */
  authorize(conn: Connection, access: Access, room: string | undefined): boolean {
    if (access === 'connect') return true;
    if (access === 'server' || room === undefined) return false;
    const credentials = this.sessions.current(conn);
    // No grants: a connection that was not authenticated by this module (tests' fakes).
    if (!credentials.grants) return true;
    if (this.revocations.revoked(conn.identity.user, credentials.issuedAt, room)) return false;
    return satisfies(accessTo(credentials.grants, room), access);
  }

  private closeExpired(): void {
    const now = Date.now() / 1000;
    for (const conn of this.node!.connections.all()) {
      const { expiresAt } = this.sessions.current(conn);
      if (expiresAt === undefined || expiresAt > now || this.expired.has(conn)) continue;
      this.expired.add(conn);
      conn.close(CloseCode.TokenExpired, 'token expired');
    }
  }

  private refreshEvent(): AnyEventDefinition {
    return defineEvent({
      type: REFRESH_EVENT,
      scope: 'local',
      access: 'connect',
      description: 'Replace the connection’s token before it expires; same sub, new grants and expiry.',
      data: z.object({ token: z.string().min(1) }),
      handle: async (ctx): Promise<RefreshAnswer> => {
        const conn = ctx.connection;
        if (!conn) throw new SwarmError(ErrorCode.Rejected, `${REFRESH_EVENT} is sent by clients only`);
        if (!this.verifier) throw new SwarmError(ErrorCode.Rejected, 'auth is off on this node');
        let verified: VerifiedToken;
        try {
          verified = await this.verifier.verify(ctx.data.token);
        } catch (err) {
          if (err instanceof TokenError) throw new SwarmError(ErrorCode.InvalidToken, err.message);
          throw err;
        }
        if (verified.user !== conn.identity.user) {
          throw new SwarmError(ErrorCode.InvalidToken, 'the new token is for another user (sub)');
        }
        if (this.revocations.revoked(verified.user, verified.issuedAt)) {
          throw new SwarmError(ErrorCode.InvalidToken, 'the new token was issued before a revocation');
        }
        this.sessions.refresh(conn, verified);
        // Rooms the new token no longer grants are left (events) or closed (Yjs: one room per socket).
        for (const room of [...conn.rooms]) {
          if (this.authorize(conn, 'read', room)) continue;
          if (conn.joinsRooms) await leaveRoom(ctx.node, conn, room);
          else conn.close(CloseCode.Revoked, `access to room ${room} revoked`);
        }
        return { user: verified.user, expiresAt: verified.expiresAt ?? null };
      },
    });
  }
}

/** The auth module for `defaultExtensions`. */
export function authExtension(): Extension {
  return new AuthExtension();
}
