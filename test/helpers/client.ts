import WebSocket from 'ws';
import type { AckFrame, ErrorFrame, EventFrame, JoinAnswer, Welcome } from '../../src/core/protocol/wire';
import { waitFor, within } from './wait';

export type { JoinAnswer };

/** A frame the server sent on /events, as a test reads it: the fields of every wire frame, each optional. */
export type Frame = { readonly type: string } & Partial<
  Omit<ErrorFrame, 'type'> & Omit<EventFrame, 'type'> & Omit<AckFrame, 'type'>
>;

export class RequestError extends Error {
  constructor(readonly frame: Frame) {
    super(`${frame.code}: ${frame.message}`);
  }
}

let nextId = 0;

/**
 * A raw `ws` client of the JSON event protocol, recording every frame it receives: for
 * tests of the protocol itself (bad frames, exact answers). Applications, and tests of
 * how they fare, use the client library (test/helpers/library-client.ts).
 */
export class JsonClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  welcome!: Welcome;

  private constructor(readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    socket.on('message', (raw) => this.frames.push(JSON.parse(raw.toString()) as Frame));
  }

  /** Connects and waits for `welcome`. */
  static async connect(url: string, options?: WebSocket.ClientOptions): Promise<JsonClient> {
    const socket = new WebSocket(url, options);
    const client = new JsonClient(socket);
    await within(
      new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
        socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      }),
      `connection to ${url}`,
    );
    const welcome = await client.next((f) => f.type === 'welcome', 'welcome');
    client.welcome = welcome.data as Welcome;
    return client;
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends an event with a fresh id and resolves with the ack's data, or rejects with the error frame. */
  async request(type: string, options: { room?: string; data?: unknown } = {}): Promise<unknown> {
    const id = `r${++nextId}`;
    this.send({ type, room: options.room, data: options.data ?? {}, id });
    const answer = await this.next(
      (f) => (f.type === 'ack' || f.type === 'error') && f.id === id,
      `answer to ${type}`,
    );
    if (answer.type === 'error') throw new RequestError(answer);
    return answer.data;
  }

  /** Sends an event and resolves with the error frame it must get. */
  async expectError(frame: Record<string, unknown>): Promise<Frame> {
    const id = `e${++nextId}`;
    this.send({ ...frame, id });
    const answer = await this.next(
      (f) => (f.type === 'ack' || f.type === 'error') && f.id === id,
      'an error',
    );
    if (answer.type !== 'error') throw new Error(`expected an error, got ${JSON.stringify(answer)}`);
    return answer;
  }

  join(room: string, extra: Record<string, unknown> = {}): Promise<JoinAnswer> {
    return this.request('room.join', { data: { room, ...extra } }) as Promise<JoinAnswer>;
  }

  /** The first frame (already received or still to come) that matches. */
  next(match: (frame: Frame) => boolean, what: string, timeoutMs = 5000): Promise<Frame> {
    return waitFor(() => this.frames.find(match), what, timeoutMs);
  }

  /** Room events received for `room` (of `type` when given), in arrival order. */
  events(room: string, type?: string): Frame[] {
    return this.frames.filter((f) => f.room === room && f.offset !== undefined && (!type || f.type === type));
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    this.socket.close();
    await within(this.closed, 'close');
  }
}

/** The clients one test file opened, so that its `after` can drop them all. */
export class OpenClients {
  private readonly clients: JsonClient[] = [];

  async connect(url: string): Promise<JsonClient> {
    const client = await JsonClient.connect(url);
    this.clients.push(client);
    return client;
  }

  terminateAll(): void {
    for (const client of this.clients.splice(0)) client.socket.terminate();
  }
}
