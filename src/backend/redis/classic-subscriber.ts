import type Redis from 'ioredis';
import type { Logger } from '../../core/log';
import { quitWithin } from './quit';
import type { Subscriber, SubscriberHooks } from './subscriber';

/**
 * Classic pub/sub on one connection to one Redis. It subscribes every channel again
 * itself after a reconnect (ioredis's autoResubscribe is off) so the backend knows when
 * that is done and can read what was missed.
 */
export class ClassicSubscriber implements Subscriber {
  readonly publishCommand = 'PUBLISH' as const;
  private readonly channels: Set<string>;
  private subscribed = false;

  constructor(
    private readonly connection: Redis,
    always: readonly string[],
    private readonly hooks: SubscriberHooks,
    private readonly log: Logger,
  ) {
    this.channels = new Set(always);
    connection.on('messageBuffer', (channel: Buffer, message: Buffer) => hooks.message(channel, message));
    connection.on('ready', () => void this.onReady());
    connection.on('close', () => {
      this.subscribed = false;
      hooks.changed();
    });
  }

  async subscribe(channel: string): Promise<void> {
    this.channels.add(channel);
    await this.connection.subscribe(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    this.channels.delete(channel);
    await this.connection.unsubscribe(channel);
  }

  ready(): boolean {
    return this.subscribed && this.connection.status === 'ready';
  }

  async start(): Promise<void> {
    await this.connection.connect();
  }

  async close(): Promise<void> {
    await quitWithin(this.connection);
  }

  private async onReady(): Promise<void> {
    try {
      await this.connection.subscribe(...this.channels);
      this.subscribed = true;
      this.hooks.changed();
    } catch (err) {
      // The connection dropped again; the next 'ready' tries again.
      this.log.warn({ err }, 'resubscribe failed');
    }
  }
}
