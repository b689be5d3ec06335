import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ConfigError } from './errors';
import type { LogLevel } from './log';

/** Everything a node reads from its environment, validated once at start. */
export interface Config {
  readonly port: number;
  readonly host: string;
  /** Unset: the embedded single-node backend. */
  readonly redisUrl: string | undefined;
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

function pattern(env: Env, name: string, re: RegExp, fallback: string, what: string): string {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  if (!re.test(value)) throw new ConfigError(name, `${what}, got "${value}"`);
  return value;
}

export function loadConfig(env: Env = process.env): Config {
  return {
    port: integer(env, ['PORT', 'SERVER_PORT'], 8080, 0, 65535),
    host: env.HOST || '0.0.0.0',
    redisUrl: redisUrl(env),
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
    production: env.NODE_ENV === 'production',
    maxFrameBytes: integer(env, 'MAX_FRAME_BYTES', 64 * 1024, 256, 64 * 1024 * 1024),
    historyLimit: integer(env, 'HISTORY_LIMIT', 1000, 1, 1_000_000),
    drainTimeoutMs: integer(env, 'DRAIN_TIMEOUT_MS', 10_000, 0, 10 * 60_000),
    ...liveness(env),
    yjsMaxFrameBytes: integer(env, 'YJS_MAX_FRAME_BYTES', 8 * 1024 * 1024, 1024, 256 * 1024 * 1024),
    yjsCompactEntries: integer(env, 'YJS_COMPACT_ENTRIES', 500, 1, 1_000_000),
    yjsCompactBytes: integer(env, 'YJS_COMPACT_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024),
  };
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
