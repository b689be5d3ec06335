import type { Duplex } from 'node:stream';

/**
 * Frames sent to one client while a burst of deliveries runs leave together. The first
 * frame of a tick corks the client's socket; the socket is uncorked once the tick's work
 * (its promise jobs included) is done, so a client that gets ten updates from one read of
 * the Redis connection costs one `writev` instead of ten system calls. (The bench's
 * profiles under load had socket writes as the nodes' busiest code.) Nothing waits longer
 * than the tick it was sent in.
 *
 * While held, a socket's `bufferedAmount` counts bytes that were never offered to the
 * kernel: a send-buffer check belongs in `afterRelease`, which runs once the socket has
 * written what it could, or after `releaseNow`.
 */
let held = new Map<Duplex, (() => void) | undefined>();

/** Holds `transport`'s writes until the end of the current tick, then calls `afterRelease`. */
export function holdWritesForTick(transport: Duplex, afterRelease?: () => void): void {
  if (held.has(transport)) return;
  transport.cork();
  held.set(transport, afterRelease);
  if (held.size === 1) process.nextTick(release);
}

/** Lets `transport`'s held writes go now (a burst that must not wait for the tick's end). */
export function releaseNow(transport: Duplex): void {
  if (!held.has(transport)) return;
  const afterRelease = held.get(transport);
  held.delete(transport);
  transport.uncork();
  afterRelease?.();
}

function release(): void {
  const batch = held;
  held = new Map();
  // Every socket first (one that is destroyed meanwhile ignores uncork), so that a
  // callback that throws cannot leave another socket corked for good.
  for (const transport of batch.keys()) transport.uncork();
  for (const afterRelease of batch.values()) {
    try {
      afterRelease?.();
    } catch (err) {
      process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'WriteBatchWarning');
    }
  }
}
