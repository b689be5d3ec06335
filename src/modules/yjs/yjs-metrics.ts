import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * What the Yjs module reports. It keeps no Y.Doc per room, so the log's length is only
 * known where it is appended to or compacted; those places call these.
 */
export interface YjsMetrics {
  /** After an append: how many updates and bytes the room's update log holds now. */
  logSize(updates: number, bytes: number): void;
  /** A compaction folded `updates` log entries into the snapshot in `seconds`. */
  compacted(seconds: number, updates: number): void;
  /** A compaction failed (the lock was lost or Redis answered an error). */
  compactionFailed(): void;
}

/** A Yjs log is compacted past a threshold of a few hundred updates; the buckets straddle it. */
const LOG_UPDATE_BUCKETS = [10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];
const LOG_BYTE_BUCKETS = [1e3, 1e4, 1e5, 5e5, 1e6, 5e6, 1e7, 5e7];

/** The Yjs module's figures, in the node's registry (docs/operations.md lists them). */
export function yjsMetrics(registry: Registry): YjsMetrics {
  const registers = [registry];
  const logUpdates = new Histogram({
    name: 'swarmcast_yjs_log_updates',
    help: 'Length in updates of the log tail (past the snapshot) of a room Yjs log, observed at each append and each full read',
    buckets: LOG_UPDATE_BUCKETS,
    registers,
  });
  const logBytes = new Histogram({
    name: 'swarmcast_yjs_log_bytes',
    help: 'Size in bytes of the log tail (past the snapshot) of a room Yjs log, observed at each append and each full read',
    buckets: LOG_BYTE_BUCKETS,
    registers,
  });
  const compactions = new Counter({
    name: 'swarmcast_yjs_compactions_total',
    help: 'Yjs log compactions run by this node, by result',
    labelNames: ['result'],
    registers,
  });
  const compactionSeconds = new Histogram({
    name: 'swarmcast_yjs_compaction_seconds',
    help: 'Time one Yjs log compaction took',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const compactedUpdates = new Counter({
    name: 'swarmcast_yjs_compacted_updates_total',
    help: 'Yjs log entries folded into snapshots by this node',
    registers,
  });
  return {
    logSize(updates, bytes) {
      logUpdates.observe(updates);
      logBytes.observe(bytes);
    },
    compacted(seconds, updates) {
      compactions.inc({ result: 'ok' });
      compactionSeconds.observe(seconds);
      compactedUpdates.inc(updates);
    },
    compactionFailed() {
      compactions.inc({ result: 'failed' });
    },
  };
}
