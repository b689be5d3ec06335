import { Counter, type Registry } from 'prom-client';
import type { CopyCoordination } from '../../backend/copy-coordination';
import type { RoomRestore } from '../../backend/room-restore';
import type { StreamName } from '../../core/events/event';
import type { Logger } from '../../core/log';

export interface EvictorOptions {
  readonly coordination: CopyCoordination;
  readonly restore: RoomRestore;
  readonly log: Logger;
  readonly registry: Registry;
  /** A room quiet this long, with no one in it and all of it copied, leaves Redis. */
  readonly roomIdleMs: number;
  /** False while copies fail: nothing is evicted then, so nothing must be loaded from a database that is down. */
  readonly databaseUp: () => boolean;
  /** The event streams the node's events declare: every one's keys leave Redis with the room. */
  readonly streams: () => readonly StreamName[];
}

/** Candidates looked at per sweep; the oldest first, so a long-idle room is never starved. */
const SWEEP_ROOMS = 1000;

/**
 * Cold rooms leave Redis (docs/storage.md, "Eviction"): every node sweeps the index of
 * warm rooms for those quiet for `ROOM_IDLE_MS`, and removes each in one script that does
 * nothing when a node serves it or something was appended since its last copy.
 */
export class Evictor {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly evicted: Counter;

  constructor(private readonly options: EvictorOptions) {
    this.evicted = new Counter({
      name: 'swarmcast_storage_rooms_evicted_total',
      help: 'Cold rooms this node removed from Redis (all of them was in the database)',
      registers: [options.registry],
    });
  }

  start(): void {
    if (this.options.roomIdleMs === 0) return;
    const every = Math.min(60_000, Math.max(100, this.options.roomIdleMs / 2));
    this.timer = setInterval(() => void this.sweep(), every);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async sweep(): Promise<void> {
    if (this.running || !this.options.databaseUp()) return;
    this.running = true;
    try {
      const { coordination, restore } = this.options;
      const rooms = await coordination.idle(Date.now() - this.options.roomIdleMs, SWEEP_ROOMS);
      for (const room of rooms) {
        if (!this.options.databaseUp()) return;
        if (await restore.evict(room, this.options.streams())) {
          await coordination.forget(room);
          this.evicted.inc();
        }
      }
    } catch (err) {
      this.options.log.debug({ err }, 'eviction sweep failed');
    } finally {
      this.running = false;
    }
  }
}
