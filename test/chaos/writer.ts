import WebSocket from 'ws';
import { connect, type EventList, type Room, type SwarmClient, SwarmClientError } from '../../src/client';
import type { Random } from './random';

/** One event a writer had acknowledged: where the room put it, and the writer's own id for it. */
export interface Acked {
  readonly room: string;
  readonly offset: number;
  readonly wid: string;
}

/**
 * A JSON writer on the client library: it sends `chat.message` events one after another,
 * each carrying an id of its own (`<writer>:<n>` in the text), and keeps every ack. The
 * client library resends a send whose fate is unknown with the same frame id (idempotent
 * publishing) for `resendForMs`; one still unknown after that is given up and not counted
 * as acknowledged. A send refused as not stored (`not_joined`, `closed`) is sent again, as
 * a new event with the same text, until acknowledged; if the first try was stored after
 * all, the checker sees the text at two offsets ("stored twice").
 */
export class Writer {
  readonly acked: Acked[] = [];
  /** Sends that failed, by error code. */
  readonly failures = new Map<string, number>();
  /** The error codes each id's failed sends got, in order (for ids that failed at all). */
  readonly answers = new Map<string, string[]>();
  /** Ids whose send may have been stored (`outcome_unknown`, `timeout`) after the library's resends: given up. */
  readonly unknown: string[] = [];
  private readonly client: SwarmClient<EventList>;
  private readonly room: Room<EventList>;
  private running = true;
  private done: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly roomName: string,
    urls: readonly string[],
    private readonly random: Random,
    private readonly pauseMs: number,
  ) {
    this.client = connect({
      urls,
      WebSocket,
      backoff: { initialMs: 50, maxMs: 1000 },
      timeoutMs: 5000,
      pingIntervalMs: 2000,
      onError: () => {},
    });
    this.room = this.client.join(roomName);
  }

  start(): void {
    this.done = this.loop();
  }

  /** Stops after the event in flight is acknowledged (or given up after `deadlineMs`). */
  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  close(): void {
    this.client.close();
  }

  private async loop(): Promise<void> {
    for (let n = 1; this.running; n++) {
      const wid = `${this.name}:${n}`;
      await this.send(wid);
      await new Promise((resolve) => setTimeout(resolve, this.random.int(0, this.pauseMs)));
    }
  }

  private async send(wid: string): Promise<void> {
    // After the run stops, an event in flight gets a bounded time to be acknowledged.
    const giveUpAt = () => (this.running ? Number.POSITIVE_INFINITY : Date.now() + 30_000);
    let deadline = giveUpAt();
    for (;;) {
      try {
        const answer = (await this.room.emit('chat.message', { text: wid })) as { offset: number };
        this.acked.push({ room: this.roomName, offset: answer.offset, wid });
        return;
      } catch (err) {
        const code = err instanceof SwarmClientError ? err.code : 'other';
        this.failures.set(code, (this.failures.get(code) ?? 0) + 1);
        this.answers.set(wid, [...(this.answers.get(wid) ?? []), code]);
        if (err instanceof SwarmClientError && err.mayHaveBeenStored) {
          this.unknown.push(wid);
          return;
        }
        if (!this.running) deadline = Math.min(deadline, giveUpAt());
        if (Date.now() > deadline) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}
