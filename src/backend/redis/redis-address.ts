/** A Redis URL fit for a log line: the password replaced by `***`. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis://?';
  }
}

/**
 * The system error behind a failed Redis connection, as `ECONNREFUSED 127.0.0.1:1` or
 * `ENOTFOUND redis.internal`: ioredis rejects `connect()` with a bare "Connection is
 * closed." and reports the cause only on its `error` event.
 */
export function describeConnectionError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const { code, address, port, hostname } = err as NodeJS.ErrnoException & {
    address?: string;
    port?: number;
    hostname?: string;
  };
  if (!code) return err.message;
  if (address) return port === undefined ? `${code} ${address}` : `${code} ${address}:${port}`;
  if (hostname) return `${code} ${hostname}`;
  return `${code}: ${err.message}`;
}
