/** What a subscriber tells the backend. */
export interface SubscriberHooks {
  /** A message on one of the subscribed channels. */
  message(channel: Buffer, message: Buffer): void;
  /** `ready()` may have changed. */
  changed(): void;
  /**
   * Channels were subscribed again after the node stopped receiving them (a reconnect, a
   * failover, a slot that moved): what was published meanwhile is only in history.
   */
  resubscribed(): void;
}

/**
 * The pub/sub side of the Redis backend. One Redis uses classic SUBSCRIBE on one
 * connection; a Redis Cluster uses sharded SSUBSCRIBE, one connection per master that
 * owns a subscribed channel's slot. The bus does not know which.
 */
export interface Subscriber {
  /** The command the append script and plain publishes use: it must reach these subscriptions. */
  readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
  /** Resolves once messages of `channel` are being received. */
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /** Whether the channels that must always be received (the cluster channel) are. */
  ready(): boolean;
  start(): Promise<void>;
  close(): Promise<void>;
}
