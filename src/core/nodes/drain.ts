import type { ConnectionTable } from '../connection-table';
import { CloseCode } from '../errors';
import type { Logger } from '../log';

export interface DrainMetrics {
  drainStarted(): void;
  drainFinished(seconds: number, timedOut: boolean): void;
}

/**
 * The first half of a drain: closes every socket with 1012 (clients reconnect to another
 * node, docs/codes.md) and waits until their rooms are left, or until `timeoutMs`. The
 * node shuts down after, whichever came first.
 */
export async function closeForDrain(
  connections: ConnectionTable,
  log: Logger,
  metrics: DrainMetrics,
  timeoutMs: number,
): Promise<void> {
  log.info({ connections: connections.size, timeoutMs }, 'draining');
  metrics.drainStarted();
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  for (const conn of [...connections.all()]) conn.close(CloseCode.ServiceRestart, 'node draining');
  const timedOut = (await Promise.race([connections.emptied(), deadline])) === 'timeout';
  clearTimeout(timer);
  if (timedOut) log.warn({ connections: connections.size }, 'drain timed out; closing what is left');
  metrics.drainFinished((performance.now() - started) / 1000, timedOut);
}
