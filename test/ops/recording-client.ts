import WebSocket from 'ws';
import { connect, type Room, type SwarmClient } from '../../src/client';
import type { handlers } from '../../src/modules/handlers';
import { waitFor } from '../helpers/wait';

type AppEvents = typeof handlers;

/** Quick reconnects: the proxy routes to another node at once. */
const BACKOFF = { initialMs: 20, maxMs: 400 };
/** A steady trickle, not a flood: these tests are about reconnection, not throughput. */
const SEND_PAUSE_MS = 15;

export interface Received {
  readonly type: string;
  readonly data: unknown;
}

/**
 * An application on the client library behind a load balancer, recording what the
 * library hands it: every room event by offset, the offsets of its own acknowledged chat
 * lines, the node of each connection and the close code that ended each one. The library
 * does the reconnecting and resuming; this only watches, so that a test can check that
 * nothing was lost, repeated or reordered.
 */
export class RecordingClient {
  /** Room events, by offset, in the order they were handed over. */
  readonly received = new Map<number, Received>();
  /** Offsets of this client's own chat messages, from their acks. */
  readonly acked: number[] = [];
  /** Node of each connection, in order (from `welcome`). */
  readonly nodes: string[] = [];
  /** Close code of each connection that ended. */
  readonly closeCodes: number[] = [];
  /** Events handed over again; must stay empty. */
  readonly duplicates: number[] = [];
  /** Resets the room reported (missed events that could not be replayed); must stay empty. */
  readonly unrecovered: string[] = [];
  private readonly order: number[] = [];
  private start = 0;
  private sending = false;
  private sendLoop: Promise<void> = Promise.resolve();

  private constructor(
    readonly client: SwarmClient<AppEvents>,
    readonly room: Room<AppEvents>,
    readonly name: string,
  ) {
    client.onState((state) => {
      if (state.status === 'open') this.nodes.push(state.welcome.node);
      if (state.status === 'reconnecting') this.closeCodes.push(state.lastClose.code);
    });
    for (const type of [
      'chat.message',
      'room.member.joined',
      'room.member.left',
      'room.state.changed',
    ] as const) {
      room.on(type, (data, meta) => {
        if (meta.offset === undefined) return;
        if (this.received.has(meta.offset)) this.duplicates.push(meta.offset);
        this.received.set(meta.offset, { type, data });
        this.order.push(meta.offset);
      });
    }
    room.onReset((reset) => this.unrecovered.push(`${reset.reason} at ${reset.offset}`));
  }

  /** Connects and joins; resolves once joined. */
  static async start(url: string, room: string, name: string): Promise<RecordingClient> {
    const client = connect<AppEvents>({ url, WebSocket, backoff: BACKOFF });
    const recorder = new RecordingClient(client, client.join(room), name);
    recorder.start = (await recorder.room.ready).offset;
    await waitFor(() => recorder.connected, `${name} to join`, 10_000);
    return recorder;
  }

  get connected(): boolean {
    return this.client.state.status === 'open' && this.room.status === 'joined';
  }

  get connections(): number {
    return this.nodes.length;
  }

  /** Offsets in the order they were handed over. */
  offsets(): number[] {
    return [...this.order];
  }

  /** Places where the offsets did not go up by one from the first join's answer: must be none. */
  get gaps(): Array<{ expected: number; got: number }> {
    const gaps: Array<{ expected: number; got: number }> = [];
    let last = this.start;
    for (const offset of this.order) {
      if (offset !== last + 1) gaps.push({ expected: last + 1, got: offset });
      last = offset;
    }
    return gaps;
  }

  /** Sends chat messages one after another (each waits for its ack) until `stopSending`. */
  startSending(): void {
    this.sending = true;
    this.sendLoop = (async () => {
      let n = 0;
      while (this.sending) {
        try {
          const ack = await this.room.emit('chat.message', { text: `${this.name}:${n++}` });
          this.acked.push(ack.offset);
        } catch {
          // outcome_unknown: the socket closed first; it may or may not have been published.
        }
        await new Promise((resolve) => setTimeout(resolve, SEND_PAUSE_MS));
      }
    })();
  }

  async stopSending(): Promise<void> {
    this.sending = false;
    await this.sendLoop;
  }

  close(): void {
    this.sending = false;
    this.client.close();
  }
}
