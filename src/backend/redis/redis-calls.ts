import type { Duplex } from 'node:stream';
import { ReplyError } from 'ioredis';
import { UnavailableError } from '../../core/errors';
import { holdWritesForTick } from '../../core/protocol/write-batch';

/**
 * Replies that mean "not now" rather than "never": Redis loading its AOF, a failover. A
 * MOVED or ASK reaches here only from a pipeline (the append with its WAIT), which
 * ioredis does not redirect when only one of its replies is one: the script did not run,
 * the slot map refreshes within a second, and the client's retry goes to the new owner.
 */
const TRANSIENT = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|MOVED|ASK)/;

/** Hooks for timing Redis calls (the metrics module plugs in here). */
export interface RedisCallObserver {
  observe(kind: RedisCallKind, seconds: number, ok: boolean): void;
}

export type RedisCallKind = 'publish' | 'read' | 'write' | 'subscribe';

/**
 * Runs Redis calls so that a connection problem becomes UnavailableError (the client
 * gets `unavailable` and retries) instead of `internal`. Commands fail at once while
 * Redis is unreachable: the connections run without an offline queue, so nothing piles
 * up in the heap waiting for Redis to return.
 */
export class RedisCalls {
  observer: RedisCallObserver | undefined;

  /**
   * @param socket the command connection's current socket: the commands of one tick
   *   leave in one write (protocol/write-batch.ts) instead of a system call each, the
   *   busiest code of a node under load in the bench's profiles. Order is unchanged.
   *   Undefined on a Redis Cluster, whose commands leave on one connection per shard.
   */
  constructor(private readonly socket: () => Duplex | undefined) {}

  async run<T>(kind: RedisCallKind, call: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    const socket = this.socket();
    if (socket && !socket.destroyed) holdWritesForTick(socket);
    try {
      const result = await call();
      this.observe(kind, started, true);
      return result;
    } catch (err) {
      this.observe(kind, started, false);
      // A ReplyError is Redis refusing the command itself (a bug, not an outage), unless
      // it says the server is starting, busy or failing over.
      if (err instanceof ReplyError && !TRANSIENT.test(String((err as Error).message))) throw err;
      throw new UnavailableError();
    }
  }

  private observe(kind: RedisCallKind, started: bigint, ok: boolean): void {
    if (!this.observer) return;
    this.observer.observe(kind, Number(process.hrtime.bigint() - started) / 1e9, ok);
  }
}
