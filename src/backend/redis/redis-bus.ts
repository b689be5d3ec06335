import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { Event, RoomEvent, StoredEvent, StreamName } from '../../events/event';
import type { Bus, BusListener } from '../backend';
import { DOCUMENT_STREAM } from '../document-store';
import { decodeEnvelope, encodeEnvelope } from '../envelope';
import type { RedisKeys } from './keys';
import type { RedisCalls } from './redis-calls';
import type { ScriptedRedis } from './scripts';

/**
 * The bus over Redis pub/sub. One subscriber connection per process carries the cluster
 * channel and one channel per room this node has members in (the room hub subscribes
 * and unsubscribes). Room events are appended and published by one Lua script, so the
 * live message carries its offset. Messages this node published are dropped on receipt:
 * the router already delivered them locally.
 */
export class RedisBus implements Bus {
  private listener: BusListener | undefined;
  private readonly epochBase = randomUUID();
  private epochs = 0;
  private readonly clusterChannel: string;
  /** The channels this node wants, kept here so a reconnect can subscribe them all again. */
  private readonly channels = new Set<string>();

  constructor(
    private readonly node: string,
    private readonly redis: ScriptedRedis,
    private readonly sub: Redis,
    private readonly keys: RedisKeys,
    private readonly calls: RedisCalls,
    private readonly historyLimit: number,
  ) {
    this.clusterChannel = keys.clusterChannel();
    this.channels.add(this.clusterChannel);
    sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel, message));
  }

  publishRoom(event: RoomEvent, stream: StreamName): Promise<StoredEvent>;
  publishRoom(event: RoomEvent, stream: null): Promise<RoomEvent>;
  publishRoom(event: RoomEvent, stream: StreamName | null): Promise<RoomEvent | StoredEvent>;
  async publishRoom(event: RoomEvent, stream: StreamName | null): Promise<RoomEvent | StoredEvent> {
    const channel = this.keys.roomChannel(event.room);
    if (stream === null) {
      await this.calls.run('publish', () => this.redis.publish(channel, encodeEnvelope(event)));
      return event;
    }
    const envelope = encodeEnvelope({ ...event, stream });
    const headerLength = envelope.readUInt32BE(0);
    // The script appends offset and epoch to the header, so it gets the header open-ended.
    const header = envelope.subarray(4, 4 + headerLength - 1);
    const body = envelope.subarray(4 + headerLength);
    // Streams are capped; the document stream is trimmed only by compaction, which
    // folds it into the snapshot first.
    const maxlen = stream === DOCUMENT_STREAM ? 0 : this.historyLimit;
    const [offset, epoch] = (await this.calls.run('publish', () =>
      this.redis.swarmAppendPublish(
        this.keys.log(event.room, stream),
        this.keys.seq(event.room, stream),
        this.keys.epoch(event.room, stream),
        header,
        body,
        maxlen,
        this.freshEpoch(),
        channel,
      ),
    )) as [number, string];
    return { ...event, stream, offset: Number(offset), epoch: String(epoch) };
  }

  async publishCluster(event: Event): Promise<void> {
    await this.calls.run('publish', () =>
      this.redis.publish(this.keys.clusterChannel(), encodeEnvelope(event)),
    );
  }

  async subscribe(room: string): Promise<void> {
    const channel = this.keys.roomChannel(room);
    this.channels.add(channel);
    await this.calls.run('subscribe', () => this.sub.subscribe(channel));
  }

  async unsubscribe(room: string): Promise<void> {
    const channel = this.keys.roomChannel(room);
    this.channels.delete(channel);
    await this.calls.run('subscribe', () => this.sub.unsubscribe(channel));
  }

  /**
   * After the subscriber connection (re)connects: subscribes to every channel again. The
   * backend then has every room stream read what it missed; in that order, nothing
   * published between the history read and the subscription can fall through the crack.
   */
  async resubscribe(): Promise<void> {
    await this.sub.subscribe(...this.channels);
  }

  /** Every room stream reads what it missed (the backend calls it once Redis is fully back). */
  resync(): void {
    this.listener?.resync();
  }

  /**
   * A new epoch id, used only if the stream has none yet. Unique without drawing random
   * bytes per append (that showed in the bench's profiles): a random id per process plus
   * a counter.
   */
  private freshEpoch(): string {
    this.epochs += 1;
    return `${this.epochBase}-${this.epochs.toString(36)}`;
  }

  listen(listener: BusListener): void {
    this.listener = listener;
  }

  private onMessage(channel: Buffer, message: Buffer): void {
    let event: Event;
    try {
      event = decodeEnvelope(message);
    } catch {
      return; // Not an envelope: someone else publishing on our channel names.
    }
    if (event.from.node === this.node || !this.listener) return;
    // The channel says what it is: a cluster event may name a room too.
    if (channel.toString() === this.clusterChannel) this.listener.cluster(event);
    else if (event.room !== undefined) this.listener.room(event as RoomEvent);
  }
}
