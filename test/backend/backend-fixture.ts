import type { Backend } from '../../src/backend/backend';

/**
 * One deployment of a backend: the backends it makes share their data (as the nodes of
 * one Redis, or of one SharedMemory, do) and share nothing with other deployments.
 */
export interface Deployment {
  /** A started backend for node `id`; the contract suite closes it. */
  node(id: string): Promise<Backend>;
  /** Loses a room stream's data behind the backend's back (a flushed or failed-over Redis). */
  lose(room: string, stream: string): Promise<void>;
  /**
   * Takes what the backends stand on away (stops the Redis server) and resolves with the
   * way to bring it back. Absent for a backend that cannot go down (memory).
   */
  outage?(): Promise<() => Promise<void>>;
}

/** How the contract suite gets at one kind of backend. */
export interface BackendFixture {
  readonly name: string;
  /** Whether the backend removes cold rooms from its hot tier (Redis does; the embedded memory keeps them). */
  readonly evictsColdRooms?: boolean;
  /** Starts what every deployment shares (a private redis-server); once per suite. */
  setUp?(): Promise<void>;
  tearDown?(): Promise<void>;
  deployment(options: { readonly historyLimit: number }): Deployment;
}
