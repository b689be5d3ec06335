import { createPublicKey, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ConfigError } from './errors';
import type { LogLevel } from './log';

/** Everything a node reads from its environment, validated once at start. */
export interface Config {
  readonly port: number;
  readonly host: string;
  /** Unset: the embedded single-node backend. */
  readonly redisUrl: string | undefined;
  /** Set instead of `redisUrl`: the Redis backend runs on a Redis Cluster (docs/redis.md). */
  readonly redisCluster: RedisClusterConfig | undefined;
  /** Replicas that must hold a room event before it is acknowledged (Redis `WAIT`); 0: none. */
  readonly redisWaitReplicas: number;
  readonly keyPrefix: string;
  readonly logLevel: LogLevel;
  readonly nodeId: string;
  readonly production: boolean;
  /** Largest JSON frame accepted on /events; larger ones close the socket with 1009. */
  readonly maxFrameBytes: number;
  /** Events kept per room for `since` recovery and gap repair. */
  readonly historyLimit: number;
  /** How long a drain may take before the process exits anyway. */
  readonly drainTimeoutMs: number;
  /** Bearer token of the admin HTTP API under /api/; unset turns the API off. */
  readonly adminToken: string | undefined;
  /** How often a node renews its heartbeat and looks for dead nodes. */
  readonly heartbeatMs: number;
  /** A node whose heartbeat is this old is dead; its members are removed and announced. */
  readonly nodeTtlMs: number;
  /** Largest binary frame accepted on /yjs; a whole document can arrive as one update. */
  readonly yjsMaxFrameBytes: number;
  /** A room's Yjs update log is compacted into its snapshot past this many entries... */
  readonly yjsCompactEntries: number;
  /** ...or past this many bytes of updates. */
  readonly yjsCompactBytes: number;
  /** Merged documents of the rooms this node serves, kept for joins; 0 turns the cache off. */
  readonly yjsCacheBytes: number;
  /** How tokens are checked; `off` when no key is configured (see docs/security.md). */
  readonly auth: AuthConfig;
  /** Abuse limits of every socket (see docs/security.md). */
  readonly limits: LimitsConfig;
  /** The durable tier behind Redis (see docs/storage.md). */
  readonly storage: StorageConfig;
}

/**
 * Where rooms are kept beyond Redis: PostgreSQL (a cluster), a file (the embedded
 * node), or nowhere (memory only, or Redis only: the behaviour before storage existed).
 */
export type StorageConfig =
  | { readonly kind: 'none' }
  | ({ readonly kind: 'postgres'; readonly url: string } & PersistConfig)
  | ({ readonly kind: 'file'; readonly dir: string } & PersistConfig);

export interface PersistConfig {
  /** New events are copied this long after the room's last append (debounced)... */
  readonly persistDelayMs: number;
  /** ...and never later than this after the first uncopied one, however busy the room. */
  readonly persistMaxWaitMs: number;
  /** A room with no member anywhere for this long, and all copied, leaves Redis; 0: never. */
  readonly roomIdleMs: number;
  /** How long a `"durable": true` event waits for the database before it is answered `unavailable`. */
  readonly durableTimeoutMs: number;
}

/** Seed nodes of a Redis Cluster and how to reach them; the client learns the rest from them. */
export interface RedisClusterConfig {
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: boolean;
}

/** The key that verifies tokens, or `off`: open access, on purpose or for lack of a key. */
export type AuthConfig =
  | { readonly mode: 'off'; readonly disabled: boolean }
  | {
      readonly mode: 'hs256';
      readonly secret: Uint8Array;
      readonly issuer?: string;
      readonly audience?: string;
      readonly maxTokenBytes: number;
    }
  | {
      readonly mode: 'public-key';
      /** RS256 for an RSA key, ES256 for a P-256 key: the only algorithm accepted. */
      readonly algorithm: 'RS256' | 'ES256';
      readonly publicKeyPem: string;
      readonly issuer?: string;
      readonly audience?: string;
      readonly maxTokenBytes: number;
    };

export interface LimitsConfig {
  /** Token bucket per connection: refill per second (0 turns the limit off) and capacity. */
  readonly ratePerSecond: number;
  readonly rateBurst: number;
  /** Frames dropped within 10 s after which the socket is closed with 4529. */
  readonly rateMaxDrops: number;
  /**
   * The rate of protocols that cannot drop a frame (Yjs): past it the socket is read
   * more slowly (flow control), never refused or closed.
   */
  readonly pacedPerSecond: number;
  readonly pacedBurst: number;
  /** A socket whose unsent bytes pass this is closed with 4508. */
  readonly maxSendBufferBytes: number;
  /** Open sockets per node; upgrades past it get HTTP 503. */
  readonly maxConnections: number;
  /** Ping period; a socket that has not answered the previous ping is closed with 4504. 0: off. */
  readonly pingIntervalMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads the first of `names` that is set; aliases exist for compatibility with other servers' env. */
function pick(env: Env, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return { name, value };
  }
  return undefined;
}

export function integer(
  env: Env,
  names: string | readonly string[],
  fallback: number,
  min: number,
  max: number,
): number {
  const list = typeof names === 'string' ? [names] : names;
  const found = pick(env, list);
  if (!found) return fallback;
  if (!/^-?\d+$/.test(found.value.trim())) {
    throw new ConfigError(found.name, `must be a whole number, got "${found.value}"`);
  }
  const value = Number(found.value);
  if (value < min || value > max) {
    throw new ConfigError(found.name, `must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

export function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  if (!(values as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${values.join(', ')}, got "${value}"`);
  }
  return value as T;
}

function redisUrl(env: Env): string | undefined {
  const found = pick(env, ['REDIS_URL', 'REDIS_SERVER']);
  if (!found) return undefined;
  // REDIS_SERVER is often written as host:port; accept it and make it a URL.
  const value = /^[a-z]+:\/\//i.test(found.value) ? found.value : `redis://${found.value}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(found.name, `is not a Redis URL (redis://host:port/db), got "${found.value}"`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(found.name, `must use redis:// or rediss://, got "${url.protocol}"`);
  }
  if (!url.hostname) throw new ConfigError(found.name, `has no host, got "${found.value}"`);
  return value;
}

/**
 * `REDIS_CLUSTER_NODES`: seeds as `host:port`, or as URLs when they carry a password or
 * TLS (`rediss://:secret@host:port`), the same forms as REDIS_URL. Every seed must
 * agree on credentials and TLS: they are one cluster's.
 */
function redisCluster(env: Env): RedisClusterConfig | undefined {
  const name = 'REDIS_CLUSTER_NODES';
  const value = env[name];
  if (value === undefined || value.trim() === '') return undefined;
  const found = pick(env, ['REDIS_URL', 'REDIS_SERVER']);
  if (found) {
    throw new ConfigError(
      name,
      `${found.name} is set too; set REDIS_URL for one Redis or ${name} for a cluster`,
    );
  }
  const seeds = value.split(',').map((entry) => entry.trim());
  const parsed = seeds.map((seed) => {
    let url: URL;
    try {
      url = new URL(/^[a-z]+:\/\//i.test(seed) ? seed : `redis://${seed}`);
    } catch {
      throw new ConfigError(name, `"${seed}" is not host:port or redis://host:port`);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      throw new ConfigError(name, `"${seed}" must use redis:// or rediss://`);
    }
    const port = Number(url.port || '6379');
    if (!url.hostname || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ConfigError(name, `"${seed}" is not host:port`);
    }
    if (url.pathname !== '' && url.pathname !== '/' && url.pathname !== '/0') {
      throw new ConfigError(name, `"${seed}": a Redis Cluster has only database 0`);
    }
    return {
      host: url.hostname,
      port,
      username: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : undefined,
      tls: url.protocol === 'rediss:',
    };
  });
  // A seed written as bare host:port takes the credentials and TLS of those that name them.
  const named = parsed.filter((p) => p.password !== undefined || p.username !== undefined || p.tls);
  const reference = named[0] ?? parsed[0]!;
  for (const seed of named) {
    if (
      seed.username !== reference.username ||
      seed.password !== reference.password ||
      seed.tls !== reference.tls
    ) {
      throw new ConfigError(name, 'every seed must name the same user, password and TLS');
    }
  }
  return {
    nodes: parsed.map(({ host, port }) => ({ host, port })),
    username: reference.username,
    password: reference.password,
    tls: reference.tls,
  };
}

/** Shorter tokens can be guessed; 16 characters of a random token are ~96 bits. */
const MIN_ADMIN_TOKEN = 16;

function adminToken(env: Env): string | undefined {
  const value = env.ADMIN_TOKEN;
  if (value === undefined || value === '') return undefined;
  if (value.length < MIN_ADMIN_TOKEN || /\s/.test(value)) {
    throw new ConfigError(
      'ADMIN_TOKEN',
      `must be at least ${MIN_ADMIN_TOKEN} characters without spaces (try: openssl rand -hex 24)`,
    );
  }
  return value;
}

function pattern(env: Env, name: string, re: RegExp, fallback: string, what: string): string {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  if (!re.test(value)) throw new ConfigError(name, `${what}, got "${value}"`);
  return value;
}

/** HS256 secrets shorter than this are guessable offline from one token (RFC 7518 3.2: key >= hash size). */
const MIN_SECRET_BYTES = 32;

function authConfig(env: Env, production: boolean): AuthConfig {
  const secret = env.AUTH_JWT_SECRET || undefined;
  // Docker env files and CI secrets often carry a PEM on one line with literal \n.
  const pem = env.AUTH_JWT_PUBLIC_KEY ? env.AUTH_JWT_PUBLIC_KEY.replace(/\\n/g, '\n') : undefined;
  // AUTH_DISABLED acknowledges running open when there is no key; it never turns a
  // configured key off, so a stray AUTH_DISABLED=true fails safe.
  const disabled = oneOf(env, 'AUTH_DISABLED', ['true', 'false'], 'false') === 'true';
  if (secret && pem) {
    throw new ConfigError('AUTH_JWT_PUBLIC_KEY', 'AUTH_JWT_SECRET is set too; set only one of them');
  }
  if (!secret && !pem) {
    if (production && !disabled) {
      throw new ConfigError(
        'AUTH_JWT_SECRET',
        'NODE_ENV=production needs AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY, or AUTH_DISABLED=true to run open on purpose',
      );
    }
    return { mode: 'off', disabled };
  }
  const common = {
    issuer: env.AUTH_JWT_ISSUER || undefined,
    audience: env.AUTH_JWT_AUDIENCE || undefined,
    maxTokenBytes: integer(env, 'AUTH_MAX_TOKEN_BYTES', 4096, 256, 12 * 1024),
  };
  if (secret) {
    const bytes = new TextEncoder().encode(secret);
    if (bytes.length < MIN_SECRET_BYTES) {
      throw new ConfigError(
        'AUTH_JWT_SECRET',
        `must be at least ${MIN_SECRET_BYTES} bytes, got ${bytes.length}`,
      );
    }
    return { mode: 'hs256', secret: bytes, ...common };
  }
  return { mode: 'public-key', algorithm: publicKeyAlgorithm(pem!), publicKeyPem: pem!, ...common };
}

function publicKeyAlgorithm(pem: string): 'RS256' | 'ES256' {
  let key: ReturnType<typeof createPublicKey>;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new ConfigError('AUTH_JWT_PUBLIC_KEY', 'is not a PEM public key (-----BEGIN PUBLIC KEY-----)');
  }
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new ConfigError('AUTH_JWT_PUBLIC_KEY', 'must be an RSA key (RS256) or a P-256 EC key (ES256)');
}

/**
 * What a person sends on /yjs, with room to spare (docs/security.md, "Limits"): y-websocket
 * sends one frame per transaction and one per awareness change. A pen at 240 Hz with its
 * cursor is ~480 frames/s, typing with awareness ~30/s, a paste one frame: 2,000/s is four
 * times the fastest person. The burst lets a scripted import or a paste-heavy burst of
 * 10,000 updates through at full speed; past it a writer is only slowed, never refused.
 * Memory does not depend on these: the backlog bound (limits/flow-control.ts) holds it.
 */
const YJS_RATE_PER_SEC = 2000;
const YJS_RATE_BURST = 10_000;

function limitsConfig(env: Env): LimitsConfig {
  return {
    ratePerSecond: integer(env, 'RATE_LIMIT_PER_SEC', 100, 0, 1_000_000),
    rateBurst: integer(env, 'RATE_LIMIT_BURST', 200, 1, 1_000_000),
    rateMaxDrops: integer(env, 'RATE_LIMIT_MAX_DROPS', 200, 1, 1_000_000),
    pacedPerSecond: integer(env, 'YJS_RATE_LIMIT_PER_SEC', YJS_RATE_PER_SEC, 0, 1_000_000),
    pacedBurst: integer(env, 'YJS_RATE_LIMIT_BURST', YJS_RATE_BURST, 1, 1_000_000),
    maxSendBufferBytes: integer(env, 'MAX_SEND_BUFFER_BYTES', 8 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
    maxConnections: integer(env, 'MAX_CONNECTIONS', 10_000, 1, 10_000_000),
    pingIntervalMs: integer(env, 'PING_INTERVAL_MS', 30_000, 0, 10 * 60_000),
  };
}

export function loadConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === 'production';
  return {
    port: integer(env, ['PORT', 'SERVER_PORT'], 8080, 0, 65535),
    host: env.HOST || '0.0.0.0',
    redisUrl: redisUrl(env),
    redisCluster: redisCluster(env),
    redisWaitReplicas: integer(env, 'REDIS_WAIT_REPLICAS', 0, 0, 16),
    keyPrefix: pattern(
      env,
      'KEY_PREFIX',
      /^[A-Za-z0-9_.:-]{1,64}$/,
      'swarmcast',
      'must be 1-64 of A-Z a-z 0-9 _ . : -',
    ),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    nodeId: pattern(
      env,
      'NODE_ID',
      /^[A-Za-z0-9_.-]{1,64}$/,
      `${hostname()}-${randomBytes(3).toString('hex')}`,
      'must be 1-64 of A-Z a-z 0-9 _ . -',
    ),
    production,
    maxFrameBytes: integer(env, 'MAX_FRAME_BYTES', 64 * 1024, 256, 64 * 1024 * 1024),
    historyLimit: integer(env, 'HISTORY_LIMIT', 1000, 1, 1_000_000),
    drainTimeoutMs: integer(env, 'DRAIN_TIMEOUT_MS', 10_000, 0, 10 * 60_000),
    adminToken: adminToken(env),
    ...liveness(env),
    yjsMaxFrameBytes: integer(env, 'YJS_MAX_FRAME_BYTES', 8 * 1024 * 1024, 1024, 256 * 1024 * 1024),
    yjsCompactEntries: integer(env, 'YJS_COMPACT_ENTRIES', 200, 1, 1_000_000),
    yjsCompactBytes: integer(env, 'YJS_COMPACT_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    yjsCacheBytes: integer(env, 'YJS_CACHE_BYTES', 0, 0, 64 * 1024 * 1024 * 1024),
    auth: authConfig(env, production),
    limits: limitsConfig(env),
    storage: storageConfig(env),
  };
}

function databaseUrl(env: Env): string | undefined {
  const value = env.DATABASE_URL;
  if (value === undefined || value === '') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(
      'DATABASE_URL',
      'is not a PostgreSQL URL (postgres://user:password@host:port/database)',
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError('DATABASE_URL', `must use postgres:// or postgresql://, got "${url.protocol}"`);
  }
  if (!url.hostname) throw new ConfigError('DATABASE_URL', 'has no host');
  return value;
}

const STORAGE_KINDS = ['postgres', 'file', 'none'] as const;

function storageConfig(env: Env): StorageConfig {
  const url = databaseUrl(env);
  const clustered = pick(env, ['REDIS_URL', 'REDIS_SERVER', 'REDIS_CLUSTER_NODES']) !== undefined;
  // The default keeps what each set-up did before: the embedded node gains its file;
  // a Redis cluster without DATABASE_URL stays Redis-only rather than refusing to start.
  const fallback = url ? 'postgres' : clustered ? 'none' : 'file';
  const kind = oneOf(env, 'STORAGE', STORAGE_KINDS, fallback);
  if (kind === 'none') {
    if (url) throw new ConfigError('STORAGE', 'is "none" but DATABASE_URL is set; unset one of them');
    return { kind };
  }
  const persistDelayMs = integer(env, 'PERSIST_DELAY_MS', 1000, 10, 10 * 60_000);
  const persist: PersistConfig = {
    persistDelayMs,
    persistMaxWaitMs: integer(env, 'PERSIST_MAX_WAIT_MS', 5 * persistDelayMs, persistDelayMs, 60 * 60_000),
    roomIdleMs: integer(env, 'ROOM_IDLE_MS', 10 * 60_000, 0, 30 * 24 * 60 * 60_000),
    durableTimeoutMs: integer(env, 'DURABLE_TIMEOUT_MS', 5000, 100, 10 * 60_000),
  };
  if (kind === 'postgres') {
    if (!url) throw new ConfigError('DATABASE_URL', 'must be set when STORAGE is "postgres"');
    return { kind, url, ...persist };
  }
  if (clustered) {
    throw new ConfigError(
      'STORAGE',
      'a file database cannot serve a Redis cluster: nodes on other hosts would each have their own file; set DATABASE_URL (PostgreSQL), or STORAGE=none',
    );
  }
  if (url) throw new ConfigError('STORAGE', 'is "file" but DATABASE_URL is set; unset one of them');
  return { kind, dir: env.DATA_DIR || './data', ...persist };
}

function liveness(env: Env): { heartbeatMs: number; nodeTtlMs: number } {
  const heartbeatMs = integer(env, 'HEARTBEAT_MS', 2000, 50, 60_000);
  // Three missed beats before a node counts as dead: one slow beat is not a death.
  const nodeTtlMs = integer(env, 'NODE_TTL_MS', 3 * heartbeatMs, 100, 10 * 60_000);
  if (nodeTtlMs <= heartbeatMs) {
    throw new ConfigError(
      'NODE_TTL_MS',
      `must be longer than HEARTBEAT_MS (${heartbeatMs}), got ${nodeTtlMs}`,
    );
  }
  return { heartbeatMs, nodeTtlMs };
}
