import { createPublicKey, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ConfigError } from './errors';
import type { LogLevel } from './log';

/** Everything a node reads from its environment (or an options object), validated once at start. */
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
  /**
   * How long a room event sent with an `id` is remembered: a repeat of it (same sender, same
   * `id`) within this time is not stored again and gets the first one's ack. 0: off.
   */
  readonly idempotencyWindowMs: number;
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

/** REDIS_CLUSTER_NAT_MAP: where a node that the cluster announces as `host:port` is reached. */
export type NatMap = Readonly<Record<string, { readonly host: string; readonly port: number }>>;

/** Seed nodes of a Redis Cluster and how to reach them; the client learns the rest from them. */
export interface RedisClusterConfig {
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  /**
   * Where to reach a node that the cluster announces as `host:port` (`CLUSTER SLOTS`,
   * redirections), when that address is not the one this node can reach: NAT, Docker's
   * published ports, a proxy. Empty: the announced addresses are used as they are.
   */
  readonly natMap: NatMap;
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

/**
 * The settings as an object in code: one optional key per environment variable of
 * docs/configuration.md (its camelCase name), validated by the same code with the same
 * messages. Numbers may also be given as their decimal strings, as the environment does.
 */
export interface SwarmOptions {
  readonly port?: number;
  readonly host?: string;
  readonly redisUrl?: string;
  /** Seeds of a Redis Cluster, `host:port,host:port` (or redis:// URLs), as REDIS_CLUSTER_NODES. */
  readonly redisClusterNodes?: string;
  /** `announced-host:port=reachable-host:port,…`, as REDIS_CLUSTER_NAT_MAP. */
  readonly redisClusterNatMap?: string;
  readonly redisWaitReplicas?: number;
  readonly keyPrefix?: string;
  readonly logLevel?: LogLevel;
  readonly nodeId?: string;
  /** `NODE_ENV=production`: the production checks of docs/security.md. */
  readonly production?: boolean;
  readonly maxFrameBytes?: number;
  readonly historyLimit?: number;
  readonly idempotencyWindowMs?: number;
  readonly drainTimeoutMs?: number;
  readonly adminToken?: string;
  readonly heartbeatMs?: number;
  readonly nodeTtlMs?: number;
  readonly yjsMaxFrameBytes?: number;
  readonly yjsCompactEntries?: number;
  readonly yjsCompactBytes?: number;
  readonly yjsCacheBytes?: number;
  readonly authJwtSecret?: string;
  /** A PEM public key; unlike the environment variable, literal `\n` is not turned into newlines. */
  readonly authJwtPublicKey?: string;
  readonly authJwtIssuer?: string;
  readonly authJwtAudience?: string;
  readonly authMaxTokenBytes?: number;
  readonly authDisabled?: boolean;
  readonly rateLimitPerSec?: number;
  readonly rateLimitBurst?: number;
  readonly rateLimitMaxDrops?: number;
  readonly yjsRateLimitPerSec?: number;
  readonly yjsRateLimitBurst?: number;
  readonly maxSendBufferBytes?: number;
  readonly maxConnections?: number;
  readonly pingIntervalMs?: number;
  /** `postgres`, `file` or `none` (docs/storage.md). */
  readonly storage?: 'postgres' | 'file' | 'none';
  readonly databaseUrl?: string;
  readonly dataDir?: string;
  readonly persistDelayMs?: number;
  readonly persistMaxWaitMs?: number;
  readonly roomIdleMs?: number;
  readonly durableTimeoutMs?: number;
}

type Key = keyof SwarmOptions;

/** The environment variables of each option, the first one the documented name, the rest aliases. */
export const OPTION_VARIABLES: { readonly [K in Key]-?: readonly [string, ...string[]] } = {
  port: ['PORT', 'SERVER_PORT'],
  host: ['HOST'],
  redisUrl: ['REDIS_URL', 'REDIS_SERVER'],
  redisClusterNodes: ['REDIS_CLUSTER_NODES'],
  redisClusterNatMap: ['REDIS_CLUSTER_NAT_MAP'],
  redisWaitReplicas: ['REDIS_WAIT_REPLICAS'],
  keyPrefix: ['KEY_PREFIX'],
  logLevel: ['LOG_LEVEL'],
  nodeId: ['NODE_ID'],
  production: ['NODE_ENV'],
  maxFrameBytes: ['MAX_FRAME_BYTES'],
  historyLimit: ['HISTORY_LIMIT'],
  idempotencyWindowMs: ['IDEMPOTENCY_WINDOW_MS'],
  drainTimeoutMs: ['DRAIN_TIMEOUT_MS'],
  adminToken: ['ADMIN_TOKEN'],
  heartbeatMs: ['HEARTBEAT_MS'],
  nodeTtlMs: ['NODE_TTL_MS'],
  yjsMaxFrameBytes: ['YJS_MAX_FRAME_BYTES'],
  yjsCompactEntries: ['YJS_COMPACT_ENTRIES'],
  yjsCompactBytes: ['YJS_COMPACT_BYTES'],
  yjsCacheBytes: ['YJS_CACHE_BYTES'],
  authJwtSecret: ['AUTH_JWT_SECRET'],
  authJwtPublicKey: ['AUTH_JWT_PUBLIC_KEY'],
  authJwtIssuer: ['AUTH_JWT_ISSUER'],
  authJwtAudience: ['AUTH_JWT_AUDIENCE'],
  authMaxTokenBytes: ['AUTH_MAX_TOKEN_BYTES'],
  authDisabled: ['AUTH_DISABLED'],
  rateLimitPerSec: ['RATE_LIMIT_PER_SEC'],
  rateLimitBurst: ['RATE_LIMIT_BURST'],
  rateLimitMaxDrops: ['RATE_LIMIT_MAX_DROPS'],
  yjsRateLimitPerSec: ['YJS_RATE_LIMIT_PER_SEC'],
  yjsRateLimitBurst: ['YJS_RATE_LIMIT_BURST'],
  maxSendBufferBytes: ['MAX_SEND_BUFFER_BYTES'],
  maxConnections: ['MAX_CONNECTIONS'],
  pingIntervalMs: ['PING_INTERVAL_MS'],
  storage: ['STORAGE'],
  databaseUrl: ['DATABASE_URL'],
  dataDir: ['DATA_DIR'],
  persistDelayMs: ['PERSIST_DELAY_MS'],
  persistMaxWaitMs: ['PERSIST_MAX_WAIT_MS'],
  roomIdleMs: ['ROOM_IDLE_MS'],
  durableTimeoutMs: ['DURABLE_TIMEOUT_MS'],
};

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The settings before validation, each with the name its errors carry: the variable that
 * was set (an alias when that is what the environment used) and, from code, the key.
 */
class RawSettings {
  constructor(
    private readonly values: ReadonlyMap<Key, unknown>,
    private readonly variables: ReadonlyMap<Key, string>,
    private readonly fromCode: boolean,
  ) {}

  /** The value, or undefined when unset; an empty string is unset, as in the environment. */
  get(key: Key): unknown {
    const value = this.values.get(key);
    return value === '' ? undefined : value;
  }

  fail(key: Key, message: string): never {
    throw new ConfigError(this.nameOf(key), message, this.fromCode ? key : undefined);
  }

  /** The name a message gives this setting: the variable that was set, or the documented one. */
  nameOf(key: Key): string {
    return this.variables.get(key) ?? OPTION_VARIABLES[key][0];
  }
}

/** Reads the first of an option's variables that is set; aliases exist for other servers' env. */
function fromEnv(env: Env): RawSettings {
  const values = new Map<Key, unknown>();
  const variables = new Map<Key, string>();
  for (const key of Object.keys(OPTION_VARIABLES) as Key[]) {
    const name = OPTION_VARIABLES[key].find(
      (candidate) => env[candidate] !== undefined && env[candidate] !== '',
    );
    if (!name) continue;
    values.set(key, env[name]);
    variables.set(key, name);
  }
  // NODE_ENV has other values (development, test) that mean "not production", not a mistake.
  values.set('production', env.NODE_ENV === 'production');
  // Docker env files and CI secrets often carry a PEM on one line with literal \n.
  const pem = values.get('authJwtPublicKey');
  if (typeof pem === 'string') values.set('authJwtPublicKey', pem.replace(/\\n/g, '\n'));
  return new RawSettings(values, variables, false);
}

function fromOptions(options: SwarmOptions): RawSettings {
  const values = new Map<Key, unknown>();
  for (const [key, value] of Object.entries(options)) {
    if (!Object.hasOwn(OPTION_VARIABLES, key)) {
      throw new ConfigError(key, 'is not an option (the options are listed in docs/configuration.md)', key);
    }
    if (value !== undefined) values.set(key as Key, value);
  }
  return new RawSettings(values, new Map(), true);
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Quoted as written, so a 1.5 from code and a "1.5" from the environment read the same. */
function shown(value: unknown): string {
  return `"${String(value)}"`;
}

function integer(raw: RawSettings, key: Key, fallback: number, min: number, max: number): number {
  const given = raw.get(key);
  if (given === undefined) return fallback;
  const whole =
    typeof given === 'number'
      ? Number.isInteger(given)
      : typeof given === 'string' && /^-?\d+$/.test(given.trim());
  if (!whole) raw.fail(key, `must be a whole number, got ${shown(given)}`);
  const value = Number(given);
  if (value < min || value > max) raw.fail(key, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function oneOf<T extends string>(raw: RawSettings, key: Key, values: readonly T[], fallback: T): T {
  const given = raw.get(key);
  if (given === undefined) return fallback;
  if (!(values as readonly unknown[]).includes(given)) {
    raw.fail(key, `must be one of ${values.join(', ')}, got ${shown(given)}`);
  }
  return given as T;
}

/** `true`/`false`, as a boolean from code or as that word from the environment. */
function flag(raw: RawSettings, key: Key): boolean {
  const given = raw.get(key);
  if (typeof given === 'boolean') return given;
  return oneOf(raw, key, ['true', 'false'], 'false') === 'true';
}

function text(raw: RawSettings, key: Key): string | undefined {
  const given = raw.get(key);
  if (given === undefined) return undefined;
  if (typeof given !== 'string') raw.fail(key, `must be a string, got ${shown(given)}`);
  return given;
}

function redisUrl(raw: RawSettings): string | undefined {
  const given = text(raw, 'redisUrl');
  if (given === undefined) return undefined;
  // REDIS_SERVER is often written as host:port; accept it and make it a URL.
  const value = /^[a-z]+:\/\//i.test(given) ? given : `redis://${given}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return raw.fail('redisUrl', `is not a Redis URL (redis://host:port/db), got "${given}"`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    raw.fail('redisUrl', `must use redis:// or rediss://, got "${url.protocol}"`);
  }
  if (!url.hostname) raw.fail('redisUrl', `has no host, got "${given}"`);
  return value;
}

/** `host:port` with a port in range, or undefined. */
function hostPort(text: string): { host: string; port: number } | undefined {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const port = Number(text.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: text.slice(0, colon), port };
}

/**
 * `REDIS_CLUSTER_NAT_MAP`: `announced=reachable` pairs of `host:port`, comma-separated,
 * for ioredis's `natMap`: every address the cluster announces that this node must reach
 * elsewhere.
 */
function clusterNatMap(raw: RawSettings): Record<string, { host: string; port: number }> {
  const key = 'redisClusterNatMap';
  const value = text(raw, key);
  const map: Record<string, { host: string; port: number }> = {};
  if (value === undefined || value.trim() === '') return map;
  for (const entry of value.split(',').map((pair) => pair.trim())) {
    const [announced, reachable, extra] = entry.split('=');
    const from = announced === undefined ? undefined : hostPort(announced.trim());
    const to = reachable === undefined ? undefined : hostPort(reachable.trim());
    if (!from || !to || extra !== undefined) {
      raw.fail(key, `"${entry}" is not announced-host:port=reachable-host:port`);
    }
    const name = `${from.host}:${from.port}`;
    if (map[name]) raw.fail(key, `maps ${name} twice`);
    map[name] = to;
  }
  return map;
}

/**
 * `REDIS_CLUSTER_NODES`: seeds as `host:port`, or as URLs when they carry a password or
 * TLS (`rediss://:secret@host:port`), the same forms as REDIS_URL. Every seed must
 * agree on credentials and TLS: they are one cluster's.
 */
function redisCluster(raw: RawSettings): RedisClusterConfig | undefined {
  const key = 'redisClusterNodes';
  const value = text(raw, key);
  if (value === undefined || value.trim() === '') {
    if ((text(raw, 'redisClusterNatMap') ?? '').trim() !== '') {
      raw.fail('redisClusterNatMap', `applies to a Redis Cluster only: set ${raw.nameOf(key)} too`);
    }
    return undefined;
  }
  const fail: (message: string) => never = (message) => raw.fail(key, message);
  if (raw.get('redisUrl') !== undefined) {
    fail(
      `${raw.nameOf('redisUrl')} is set too; set REDIS_URL for one Redis or REDIS_CLUSTER_NODES for a cluster`,
    );
  }
  const seeds = value.split(',').map((entry) => entry.trim());
  const parsed = seeds.map((seed) => {
    let url: URL;
    try {
      url = new URL(/^[a-z]+:\/\//i.test(seed) ? seed : `redis://${seed}`);
    } catch {
      fail(`"${seed}" is not host:port or redis://host:port`);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      fail(`"${seed}" must use redis:// or rediss://`);
    }
    const port = Number(url.port || '6379');
    if (!url.hostname || !Number.isInteger(port) || port < 1 || port > 65535) {
      fail(`"${seed}" is not host:port`);
    }
    if (url.pathname !== '' && url.pathname !== '/' && url.pathname !== '/0') {
      fail(`"${seed}": a Redis Cluster has only database 0`);
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
      fail('every seed must name the same user, password and TLS');
    }
  }
  return {
    nodes: parsed.map(({ host, port }) => ({ host, port })),
    natMap: clusterNatMap(raw),
    username: reference.username,
    password: reference.password,
    tls: reference.tls,
  };
}

/** Shorter tokens can be guessed; 16 characters of a random token are ~96 bits. */
const MIN_ADMIN_TOKEN = 16;

function adminToken(raw: RawSettings): string | undefined {
  const value = text(raw, 'adminToken');
  if (value === undefined) return undefined;
  if (value.length < MIN_ADMIN_TOKEN || /\s/.test(value)) {
    raw.fail(
      'adminToken',
      `must be at least ${MIN_ADMIN_TOKEN} characters without spaces (try: openssl rand -hex 24)`,
    );
  }
  return value;
}

function pattern(raw: RawSettings, key: Key, re: RegExp, fallback: string, what: string): string {
  const value = text(raw, key);
  if (value === undefined) return fallback;
  if (!re.test(value)) raw.fail(key, `${what}, got "${value}"`);
  return value;
}

/** HS256 secrets shorter than this are guessable offline from one token (RFC 7518 3.2: key >= hash size). */
const MIN_SECRET_BYTES = 32;

function authConfig(raw: RawSettings, production: boolean): AuthConfig {
  const secret = text(raw, 'authJwtSecret');
  const pem = text(raw, 'authJwtPublicKey');
  // AUTH_DISABLED acknowledges running open when there is no key; it never turns a
  // configured key off, so a stray AUTH_DISABLED=true fails safe.
  const disabled = flag(raw, 'authDisabled');
  if (secret && pem) raw.fail('authJwtPublicKey', 'AUTH_JWT_SECRET is set too; set only one of them');
  if (!secret && !pem) {
    if (production && !disabled) {
      raw.fail(
        'authJwtSecret',
        'NODE_ENV=production needs AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY, or AUTH_DISABLED=true to run open on purpose',
      );
    }
    return { mode: 'off', disabled };
  }
  const common = {
    issuer: text(raw, 'authJwtIssuer'),
    audience: text(raw, 'authJwtAudience'),
    maxTokenBytes: integer(raw, 'authMaxTokenBytes', 4096, 256, 12 * 1024),
  };
  if (secret) {
    const bytes = new TextEncoder().encode(secret);
    if (bytes.length < MIN_SECRET_BYTES) {
      raw.fail('authJwtSecret', `must be at least ${MIN_SECRET_BYTES} bytes, got ${bytes.length}`);
    }
    return { mode: 'hs256', secret: bytes, ...common };
  }
  return {
    mode: 'public-key',
    algorithm: publicKeyAlgorithm(raw, pem!),
    publicKeyPem: pem!,
    ...common,
  };
}

function publicKeyAlgorithm(raw: RawSettings, pem: string): 'RS256' | 'ES256' {
  let key: ReturnType<typeof createPublicKey>;
  try {
    key = createPublicKey(pem);
  } catch {
    return raw.fail('authJwtPublicKey', 'is not a PEM public key (-----BEGIN PUBLIC KEY-----)');
  }
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  return raw.fail('authJwtPublicKey', 'must be an RSA key (RS256) or a P-256 EC key (ES256)');
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

function limitsConfig(raw: RawSettings): LimitsConfig {
  return {
    ratePerSecond: integer(raw, 'rateLimitPerSec', 100, 0, 1_000_000),
    rateBurst: integer(raw, 'rateLimitBurst', 200, 1, 1_000_000),
    rateMaxDrops: integer(raw, 'rateLimitMaxDrops', 200, 1, 1_000_000),
    pacedPerSecond: integer(raw, 'yjsRateLimitPerSec', YJS_RATE_PER_SEC, 0, 1_000_000),
    pacedBurst: integer(raw, 'yjsRateLimitBurst', YJS_RATE_BURST, 1, 1_000_000),
    maxSendBufferBytes: integer(raw, 'maxSendBufferBytes', 8 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
    maxConnections: integer(raw, 'maxConnections', 10_000, 1, 10_000_000),
    pingIntervalMs: integer(raw, 'pingIntervalMs', 30_000, 0, 10 * 60_000),
  };
}

/** The settings of `npm start`: the environment, read into the same settings an options object gives. */
export function loadConfig(env: Env = process.env): Config {
  return resolve(fromEnv(env));
}

/** The settings from an options object in code; a bad one throws the ConfigError its variable would. */
export function configFromOptions(options: SwarmOptions = {}): Config {
  return resolve(fromOptions(options));
}

/**
 * Five minutes: far longer than a client takes to notice a lost connection, back off (the
 * client library's backoff caps at 5 s) and resend, and than a Redis restart or failover
 * takes, yet short enough that the remembered ids of a busy room stay small (docs/redis.md).
 */
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 5 * 60_000;
/** A day: past that, remembering ids costs memory for resends no client makes. */
const MAX_IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60_000;

function resolve(raw: RawSettings): Config {
  const production = flag(raw, 'production');
  return {
    port: integer(raw, 'port', 8080, 0, 65535),
    host: text(raw, 'host') ?? '0.0.0.0',
    redisUrl: redisUrl(raw),
    redisCluster: redisCluster(raw),
    redisWaitReplicas: integer(raw, 'redisWaitReplicas', 0, 0, 16),
    keyPrefix: pattern(
      raw,
      'keyPrefix',
      /^[A-Za-z0-9_.:-]{1,64}$/,
      'swarmcast',
      'must be 1-64 of A-Z a-z 0-9 _ . : -',
    ),
    logLevel: oneOf(raw, 'logLevel', LOG_LEVELS, 'info'),
    nodeId: pattern(
      raw,
      'nodeId',
      /^[A-Za-z0-9_.-]{1,64}$/,
      `${hostname()}-${randomBytes(3).toString('hex')}`,
      'must be 1-64 of A-Z a-z 0-9 _ . -',
    ),
    production,
    maxFrameBytes: integer(raw, 'maxFrameBytes', 64 * 1024, 256, 64 * 1024 * 1024),
    historyLimit: integer(raw, 'historyLimit', 1000, 1, 1_000_000),
    idempotencyWindowMs: integer(
      raw,
      'idempotencyWindowMs',
      DEFAULT_IDEMPOTENCY_WINDOW_MS,
      0,
      MAX_IDEMPOTENCY_WINDOW_MS,
    ),
    drainTimeoutMs: integer(raw, 'drainTimeoutMs', 10_000, 0, 10 * 60_000),
    adminToken: adminToken(raw),
    ...liveness(raw),
    yjsMaxFrameBytes: integer(raw, 'yjsMaxFrameBytes', 8 * 1024 * 1024, 1024, 256 * 1024 * 1024),
    yjsCompactEntries: integer(raw, 'yjsCompactEntries', 200, 1, 1_000_000),
    yjsCompactBytes: integer(raw, 'yjsCompactBytes', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    yjsCacheBytes: integer(raw, 'yjsCacheBytes', 0, 0, 64 * 1024 * 1024 * 1024),
    auth: authConfig(raw, production),
    limits: limitsConfig(raw),
    storage: storageConfig(raw),
  };
}

function databaseUrl(raw: RawSettings): string | undefined {
  const value = text(raw, 'databaseUrl');
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return raw.fail('databaseUrl', 'is not a PostgreSQL URL (postgres://user:password@host:port/database)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    raw.fail('databaseUrl', `must use postgres:// or postgresql://, got "${url.protocol}"`);
  }
  if (!url.hostname) raw.fail('databaseUrl', 'has no host');
  return value;
}

const STORAGE_KINDS = ['postgres', 'file', 'none'] as const;

function storageConfig(raw: RawSettings): StorageConfig {
  const url = databaseUrl(raw);
  const clustered = raw.get('redisUrl') !== undefined || raw.get('redisClusterNodes') !== undefined;
  // The default keeps what each set-up did before: the embedded node gains its file;
  // a Redis cluster without DATABASE_URL stays Redis-only rather than refusing to start.
  const fallback = url ? 'postgres' : clustered ? 'none' : 'file';
  const kind = oneOf(raw, 'storage', STORAGE_KINDS, fallback);
  if (kind === 'none') {
    if (url) raw.fail('storage', 'is "none" but DATABASE_URL is set; unset one of them');
    return { kind };
  }
  const persistDelayMs = integer(raw, 'persistDelayMs', 1000, 10, 10 * 60_000);
  const persist: PersistConfig = {
    persistDelayMs,
    persistMaxWaitMs: integer(raw, 'persistMaxWaitMs', 5 * persistDelayMs, persistDelayMs, 60 * 60_000),
    roomIdleMs: integer(raw, 'roomIdleMs', 10 * 60_000, 0, 30 * 24 * 60 * 60_000),
    durableTimeoutMs: integer(raw, 'durableTimeoutMs', 5000, 100, 10 * 60_000),
  };
  if (kind === 'postgres') {
    if (!url) return raw.fail('databaseUrl', 'must be set when STORAGE is "postgres"');
    return { kind, url, ...persist };
  }
  if (clustered) {
    raw.fail(
      'storage',
      'a file database cannot serve a Redis cluster: nodes on other hosts would each have their own file; set DATABASE_URL (PostgreSQL), or STORAGE=none',
    );
  }
  if (url) raw.fail('storage', 'is "file" but DATABASE_URL is set; unset one of them');
  return { kind, dir: text(raw, 'dataDir') ?? './data', ...persist };
}

function liveness(raw: RawSettings): { heartbeatMs: number; nodeTtlMs: number } {
  const heartbeatMs = integer(raw, 'heartbeatMs', 2000, 50, 60_000);
  // Three missed beats before a node counts as dead: one slow beat is not a death.
  const nodeTtlMs = integer(raw, 'nodeTtlMs', 3 * heartbeatMs, 100, 10 * 60_000);
  if (nodeTtlMs <= heartbeatMs) {
    raw.fail('nodeTtlMs', `must be longer than HEARTBEAT_MS (${heartbeatMs}), got ${nodeTtlMs}`);
  }
  return { heartbeatMs, nodeTtlMs };
}
