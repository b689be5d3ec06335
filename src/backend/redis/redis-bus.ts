import { randomUUID } from 'node:crypto';
import type { Event, RoomEvent, StoredEvent, StreamName } from '../../core/events/event';
import type { AppendOnce, AppendOutcome, Bus, BusListener } from '../backend';
import { DOCUMENT_STREAM } from '../document-store';
import { decodeEnvelope, encodeEnvelope, isFromNode, nodePrefix } from '../envelope';
import type { RedisKeys } from './keys';
import type { RedisCalls } from './redis-calls';
import { APPEND_KEYS, type AppendReply, appendPublish, type ScriptedRedis } from './scripts';
import type { Subscriber } from './subscriber';

/**
 * How long an append waits for REDIS_WAIT_REPLICAS replicas before the sender is told
 * `unavailable`: a healthy replica answers in about a round trip, a failover takes seconds.
 */
const WAIT_TIMEOUT_MS = 1000;

/** The append script and its WAIT, as one pipeline on the connection of the room's shard. */
export interface AppendPipeline {
  eval(
    script: string,
    keys: typeof APPEND_KEYS,
    ...args: Parameters<ScriptedRedis['swarmAppendPublish']>
  ): AppendPipeline;
  wait(replicas: number, timeoutMs: number): AppendPipeline;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

function isAppendReply(reply: unknown): reply is AppendReply {
  return (
    Array.isArray(reply) &&
    (reply.length === 2 || reply.length === 4) &&
    Number.isInteger(reply[0]) &&
    typeof reply[1] === 'string'
  );
}

/**
 * The bus over Redis pub/sub. The subscriber carries the cluster channel and one channel
 * per room this node has members in (the room hub subscribes and unsubscribes): classic
 * pub/sub on one Redis, sharded on a Redis Cluster. Room events are appended and
 * published by one Lua script, so the live message carries its offset. Messages this
 * node published are dropped on receipt: the router already delivered them locally.
 */
export class RedisBus implements Bus {
  private listener: BusListener | undefined;
  private readonly epochBase = randomUUID();
  private epochs = 0;
  private readonly clusterChannel: string;
  /** The append script's text, for the pipeline that WAITs after it. */
  private readonly appendScript: string;
  /** How this node's own envelopes begin (see `onMessage`). */
  private readonly ownPrefix: Buffer;

  constructor(
    private readonly node: string,
    private readonly redis: ScriptedRedis,
    private readonly sub: Subscriber,
    private readonly keys: RedisKeys,
    private readonly calls: RedisCalls,
    private readonly historyLimit: number,
    /** Replicas that must have an append before it is acknowledged (REDIS_WAIT_REPLICAS). */
    private readonly waitReplicas: number,
    /**
     * A pipeline on the one connection that serves `key`'s slot, or undefined while none
     * is known: WAIT counts the replicas that have this connection's writes.
     */
    private readonly pipelineFor: (key: string) => AppendPipeline | undefined,
  ) {
    this.clusterChannel = keys.clusterChannel();
    this.appendScript = appendPublish(sub.publishCommand);
    this.ownPrefix = nodePrefix(node);
  }

  /** A plain publish (no history) with the subscriber's command. */
  private async publish(channel: string, message: Buffer): Promise<void> {
    if (this.sub.publishCommand === 'SPUBLISH') await this.redis.spublish(channel, message);
    else await this.redis.publish(channel, message);
  }

  publishRoom(event: RoomEvent, stream: StreamName): Promise<StoredEvent>;
  publishRoom(event: RoomEvent, stream: null): Promise<RoomEvent>;
  publishRoom(event: RoomEvent, stream: StreamName | null): Promise<RoomEvent | StoredEvent>;
  async publishRoom(event: RoomEvent, stream: StreamName | null): Promise<RoomEvent | StoredEvent> {
    if (stream === null) {
      const channel = this.keys.roomChannel(event.room);
      await this.calls.run('publish', () => this.publish(channel, encodeEnvelope(event)));
      return event;
    }
    const outcome = await this.append(event, stream, undefined);
    if (outcome.repeat) throw new Error('an append without a key was taken for a repeat');
    return outcome.event;
  }

  appendOnce(event: RoomEvent, stream: StreamName, once: AppendOnce): Promise<AppendOutcome> {
    return this.append(event, stream, once);
  }

  private async append(
    event: RoomEvent,
    stream: StreamName,
    once: AppendOnce | undefined,
  ): Promise<AppendOutcome> {
    const envelope = encodeEnvelope({ ...event, stream });
    const headerLength = envelope.readUInt32BE(0);
    // The script appends offset and epoch to the header, so it gets the header open-ended.
    const header = envelope.subarray(4, 4 + headerLength - 1);
    const body = envelope.subarray(4 + headerLength);
    // Streams are capped; the document stream is trimmed only by compaction, which
    // folds it into the snapshot first.
    const maxlen = stream === DOCUMENT_STREAM ? 0 : this.historyLimit;
    const args: Parameters<ScriptedRedis['swarmAppendPublish']> = [
      this.keys.log(event.room, stream),
      this.keys.seq(event.room, stream),
      this.keys.epoch(event.room, stream),
      // Without a key the script never touches its fourth key; it only has to be in the slot.
      this.keys.id(event.room, stream, once?.key ?? ''),
      header,
      body,
      maxlen,
      this.freshEpoch(),
      this.keys.roomChannel(event.room),
      once ? '1' : '',
      once?.answer ?? '',
      once?.windowMs ?? 0,
    ];
    const reply = await this.calls.run('publish', async () => {
      const answer = await (this.waitReplicas > 0
        ? this.appendAndWait(args)
        : this.redis.swarmAppendPublish(...args));
      // Another command's reply (a client that lost track of its replies): the append may
      // have run, so `unavailable` (a plain Error), which a resend with the same id settles.
      if (!isAppendReply(answer)) throw new Error('an append got a reply that is not its own');
      return answer;
    });
    const position = { offset: Number(reply[0]), epoch: String(reply[1]) };
    if (reply.length === 2) return { repeat: false, event: { ...event, stream, ...position } };
    const answer = String(reply[3]);
    return answer === '' ? { repeat: true, position } : { repeat: true, position, answer };
  }

  /**
   * The append, then WAIT on the same connection (WAIT cannot run inside a script): the
   * ack goes out only once `waitReplicas` replicas have the entry, so a failover that
   * promotes one of them keeps it. Fewer in time: the entry is on the master and may or
   * may not survive, which is what `unavailable` tells the sender (and a resend with the
   * same `id` finds it remembered, if it survived).
   */
  private async appendAndWait(args: Parameters<ScriptedRedis['swarmAppendPublish']>): Promise<AppendReply> {
    const pipeline = this.pipelineFor(args[0]);
    // A plain Error: `unavailable`, and the client sends it again once the slot map has an owner.
    if (!pipeline) throw new Error(`no connection to the master of ${args[0]}'s slot`);
    // EVAL, not EVALSHA: ioredis does not load a missing script inside a pipeline, and a
    // promoted replica has none in its cache (scripts replicate as their effects).
    const results = await pipeline
      .eval(this.appendScript, APPEND_KEYS, ...args)
      .wait(this.waitReplicas, WAIT_TIMEOUT_MS)
      .exec();
    const [appended, waited] = results ?? [];
    if (!appended || appended[0]) throw appended?.[0] ?? new Error('append got no reply');
    // The append is in: whatever WAIT answers now (an error reply from a master that was
    // just demoted by a failover, say), the entry may or may not survive, which is
    // `unavailable`, never `internal`: a plain Error, so that a resend with the same `id`
    // finds it remembered if it did survive.
    if (!waited || waited[0]) {
      const reason = waited?.[0] instanceof Error ? waited[0].message : 'no reply';
      throw new Error(`WAIT after the append failed: ${reason}`);
    }
    // Not a ReplyError: RedisCalls turns it into `unavailable`.
    if (Number(waited[1]) < this.waitReplicas) {
      throw new Error(`WAIT: ${waited[1]} of ${this.waitReplicas} replicas have the append`);
    }
    return appended[1] as AppendReply;
  }

  async publishCluster(event: Event): Promise<void> {
    await this.calls.run('publish', () => this.publish(this.keys.clusterChannel(), encodeEnvelope(event)));
  }

  async subscribe(room: string): Promise<void> {
    await this.calls.run('subscribe', () => this.sub.subscribe(this.keys.roomChannel(room)));
  }

  async unsubscribe(room: string): Promise<void> {
    await this.calls.run('subscribe', () => this.sub.unsubscribe(this.keys.roomChannel(room)));
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

  /** A message from the subscriber (the backend wires it here). */
  onMessage(channel: Buffer, message: Buffer): void {
    // This node's own publishes come back on every channel it shares with another node:
    // about half the messages a node reads in rooms spread over two nodes. Dropped by
    // their first bytes, undecoded (an event with another `from` layout is decoded below).
    if (isFromNode(message, this.ownPrefix)) return;
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
