import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import WebSocket from 'ws';
import { SharedMemory } from '../../src/backend/memory/shared-memory';
import type { RoomGrants } from '../../src/core/connection';
import { AuthExtension } from '../../src/modules/auth/auth-extension';
import { handlers } from '../../src/modules/handlers';
import type { Extension, SwarmNode } from '../../src/node';
import { startNode, uniquePrefix } from '../helpers/nodes';
import { within } from '../helpers/wait';

export const SECRET = 'a-test-secret-of-at-least-thirty-two-bytes';

export interface Claims {
  sub?: string;
  rooms?: RoomGrants;
  /** Seconds from now; negative for an expired token. Omitted: one hour. */
  expiresIn?: number;
  /** Unix seconds; defaults to now. */
  iat?: number;
  [claim: string]: unknown;
}

const now = () => Math.floor(Date.now() / 1000);

/** An HS256 token signed with `secret` (the nodes' SECRET unless told otherwise). */
export function token(claims: Claims, secret: string = SECRET): Promise<string> {
  return sign(claims, 'HS256', new TextEncoder().encode(secret));
}

export async function sign(
  claims: Claims,
  alg: string,
  key: Parameters<SignJWT['sign']>[0],
): Promise<string> {
  const { sub = 'u1', rooms = {}, expiresIn = 3600, iat = now(), ...extra } = claims;
  return new SignJWT({ rooms, ...extra })
    .setProtectedHeader({ alg })
    .setSubject(sub)
    .setIssuedAt(iat)
    .setExpirationTime(now() + expiresIn)
    .sign(key);
}

/** A token with `alg: none`: no signature at all. */
export function unsignedToken(claims: Claims): string {
  const { sub = 'u1', rooms = {}, expiresIn = 3600 } = claims;
  return new UnsecuredJWT({ rooms })
    .setSubject(sub)
    .setExpirationTime(now() + expiresIn)
    .encode();
}

export function keyPair(kind: 'rsa' | 'ec') {
  const pair =
    kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKey: pair.privateKey,
    publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

export interface AuthNodeOptions {
  env?: Record<string, string>;
  cluster?: SharedMemory;
  /** Extra extensions per node (made fresh for each node). */
  extensions?: () => Extension[];
}

/** Starts `count` nodes with auth on (HS256 with SECRET unless `env` says otherwise), one AuthExtension each. */
export async function startAuthNodes(count: number, options: AuthNodeOptions = {}): Promise<SwarmNode[]> {
  const cluster = options.cluster ?? new SharedMemory(1000);
  const nodes: SwarmNode[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(
      await startNode({
        cluster,
        handlers,
        env: { AUTH_JWT_SECRET: SECRET, NODE_ID: `n${i + 1}-${uniquePrefix()}`, ...options.env },
        extensions: [new AuthExtension(), ...(options.extensions?.() ?? [])],
      }),
    );
  }
  return nodes;
}

export interface UpgradeOutcome {
  /** 101 when the socket opened, else the HTTP status of the refusal. */
  status: number;
  /** The subprotocol the server answered. */
  protocol?: string;
  socket?: WebSocket;
}

/** Tries a WebSocket upgrade and says how it ended; an opened socket is returned open. */
export function upgrade(
  url: string,
  protocols?: string[],
  options: WebSocket.ClientOptions = {},
): Promise<UpgradeOutcome> {
  const socket = new WebSocket(url, protocols, options);
  return within(
    new Promise<UpgradeOutcome>((resolve, reject) => {
      socket.once('open', () => resolve({ status: 101, protocol: socket.protocol, socket }));
      socket.once('unexpected-response', (_req, res) => {
        resolve({ status: res.statusCode ?? 0 });
        res.resume();
        socket.terminate();
      });
      socket.once('error', reject);
    }),
    `upgrade ${url}`,
  );
}
