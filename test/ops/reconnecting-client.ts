import WebSocket from 'ws';
import type { Frame } from '../helpers/client';
import { waitFor } from '../helpers/wait';

/** Backoff between reconnect attempts: quick, since the proxy routes to another node at once. */
const RETRY_MS = [20, 50, 100, 200, 400];

interface Pending {
  resolve(frame: Frame): void;
  reject(err: Error): void;
}

/**
 * A JSON-protocol client that behaves as a real application should behind a load
 * balancer: when its socket closes (1012 on a drain, 1006 when a node dies) it
 * connects again through the same address and rejoins its room with `since` (its last
 * offset) and `epoch`, so it receives what it missed. It keeps every room event it got,
 * by offset, and the offsets of its own messages the server acknowledged.
 */
export class ReconnectingClient {
  /** Room events of the events stream, by offset. */
  readonly received = new Map<number, Frame>();
  /** Offsets of this client's own chat messages, from their acks. */
  readonly acked: number[] = [];
  /** Node of each connection, in order (from `welcome`). */
  readonly nodes: string[] = [];
  /** Close code of each connection that ended. */
  readonly closeCodes: number[] = [];
  /** Events that came again, or out of order; both must stay empty. */
  readonly duplicates: number[] = [];
  readonly gaps: Array<{ expected: number; got: number }> = [];
  /** Rejoins that could not recover what was missed (`recovered: false`). */
  readonly unrecovered: number[] = [];

  private socket: WebSocket | undefined;
  private joined = false;
  private lastOffset = 0;
  private epoch: string | undefined;
  private nextId = 0;
  private readonly pending = new Map<string, Pending>();
  private stopped = false;
  private sending = false;
  private sendLoop: Promise<void> = Promise.resolve();

  private constructor(
    private readonly url: string,
    private readonly room: string,
    readonly name: string,
  ) {}

  /** Connects and joins; resolves once joined. */
  static async start(url: string, room: string, name: string): Promise<ReconnectingClient> {
    const client = new ReconnectingClient(url, room, name);
    client.connectLoop();
    await waitFor(() => client.joined, `${name} to join`, 10_000);
    return client;
  }

  get connected(): boolean {
    return this.joined;
  }

  get connections(): number {
    return this.nodes.length;
  }

  /** Sends chat messages one after another (each waits for its ack) until `stopSending`. */
  startSending(): void {
    this.sending = true;
    this.sendLoop = (async () => {
      let n = 0;
      while (this.sending) {
        if (!this.joined) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          continue;
        }
        const text = `${this.name}:${n++}`;
        try {
          const ack = await this.request('chat.message', { text });
          this.acked.push((ack.data as { offset: number }).offset);
        } catch {
          // Not acknowledged (the socket closed first): it may or may not have been published.
        }
        // A steady trickle, not a flood: the test is about reconnection, not throughput.
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    })();
  }

  async stopSending(): Promise<void> {
    this.sending = false;
    await this.sendLoop;
  }

  /** Offsets received, in the order they arrived. */
  offsets(): number[] {
    return [...this.received.keys()];
  }

  close(): void {
    this.stopped = true;
    this.sending = false;
    this.socket?.terminate();
  }

  private connectLoop(attempt = 0): void {
    if (this.stopped) return;
    void this.connect().then(
      () => {},
      () => {
        const delay = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]!;
        setTimeout(() => this.connectLoop(attempt + 1), delay);
      },
    );
  }

  private async connect(): Promise<void> {
    const socket = new WebSocket(this.url);
    this.socket = socket;
    const welcome = new Promise<Frame>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      socket.once('close', () => reject(new Error('closed before welcome')));
      socket.on('message', (raw) => {
        const frame = JSON.parse(raw.toString()) as Frame;
        if (frame.type === 'welcome') resolve(frame);
        else this.onFrame(frame);
      });
    });
    const frame = await welcome;
    // From here on a failure is handled by the close handler, which reconnects.
    socket.removeAllListeners('error');
    socket.on('error', () => {});
    socket.once('close', (code) => this.onClose(code));
    this.nodes.push((frame.data as { node: string }).node);
    const since = this.epoch === undefined ? undefined : this.lastOffset;
    // Taken in the same tick as the ack: the replayed and live events can follow in the same chunk.
    const onJoined = (ack: Frame) => {
      const answer = ack.data as { epoch: string; offset: number; recovered?: boolean };
      if (since !== undefined && answer.recovered !== true) this.unrecovered.push(since);
      this.epoch = answer.epoch;
      if (since === undefined) this.lastOffset = answer.offset;
      this.joined = true;
    };
    const join = { room: this.room, since, epoch: this.epoch || undefined };
    await this.request('room.join', join, { joining: true, onAck: onJoined }).catch(() => socket.terminate());
  }

  private onClose(code: number): void {
    this.joined = false;
    this.closeCodes.push(code);
    for (const [id, pending] of this.pending) {
      pending.reject(new Error(`socket closed with ${code}`));
      this.pending.delete(id);
    }
    this.connectLoop();
  }

  private onFrame(frame: Frame): void {
    if ((frame.type === 'ack' || frame.type === 'error') && frame.id !== undefined) {
      const pending = this.pending.get(String(frame.id));
      this.pending.delete(String(frame.id));
      pending?.resolve(frame);
      return;
    }
    if (frame.room !== this.room || frame.offset === undefined) return;
    if (frame.offset <= this.lastOffset || this.received.has(frame.offset)) {
      this.duplicates.push(frame.offset);
      return;
    }
    if (frame.offset !== this.lastOffset + 1)
      this.gaps.push({ expected: this.lastOffset + 1, got: frame.offset });
    this.lastOffset = frame.offset;
    this.received.set(frame.offset, frame);
  }

  private request(
    type: string,
    data: unknown,
    options: { joining?: boolean; onAck?: (frame: Frame) => void } = {},
  ): Promise<Frame> {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN || (!options.joining && !this.joined)) {
      return Promise.reject(new Error('not connected'));
    }
    const id = `${this.name}-${++this.nextId}`;
    return new Promise<Frame>((resolve, reject) => {
      this.pending.set(id, {
        resolve: (frame) => {
          if (frame.type !== 'ack') return reject(new Error(`${frame.code}: ${frame.message}`));
          options.onAck?.(frame);
          resolve(frame);
        },
        reject,
      });
      socket.send(JSON.stringify({ type, room: type === 'room.join' ? undefined : this.room, data, id }));
    });
  }
}
