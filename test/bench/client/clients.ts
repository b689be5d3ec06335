import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { now } from '../stats';

/** How a client speaks to its server: the four wire protocols of the bench. */
/** `json-ephemeral`: our JSON protocol with `bench.ping`, a room event with `stream: null`, as probe. */
export type Protocol = 'y-websocket' | 'hocuspocus' | 'json' | 'json-ephemeral' | 'socket.io';

/** One client the parent asks a worker to open. */
export interface ClientSpec {
  readonly protocol: Protocol;
  /** y-websocket: the provider's serverUrl; hocuspocus: its url; json: /events; socket.io: http://. */
  readonly url: string;
  readonly room: string;
}

/**
 * A bench client of any protocol. It sends "probes" (a timestamp) to its room and reports every
 * probe that another client sent and it received, with the time it was sent.
 */
export interface BenchClient {
  /** Resolves once the client is connected, in its room and (Yjs) synced. */
  readonly ready: Promise<void>;
  sendProbe(): void;
  onProbe(listener: (sentAt: number) => void): void;
  /** Yjs only: writes `bytes` of text to the document, in `chunk`-sized updates. */
  seed(bytes: number, chunk: number): void;
  /** Yjs only: the length of the seeded text the client's document holds. */
  seededLength(): number;
  /** Calls `listener` after every change of the client's document (Yjs) or never. */
  onChange(listener: () => void): void;
  /**
   * Yjs only: sets `count` keys of the Y.Map `burst`, one transaction (one update) each,
   * `perTask` of them per macrotask, as a script or a paste-heavy editor does; resolves when
   * the last is set.
   */
  burst(count: number, perTask: number): Promise<void>;
  /** Yjs only: how many keys of `burst` the client's document holds. */
  burstKeys(): number;
  close(): void;
}

/**
 * The Yjs client libraries, loaded as ES modules: y-websocket and the Hocuspocus provider ship
 * only ESM, and Yjs must be one module instance for them and for us (two copies of Yjs in one
 * process break its instanceof checks), so Yjs comes through import() as well.
 */
export async function loadLibraries() {
  const [Y, yws, hocus] = await Promise.all([
    import('yjs'),
    import('y-websocket'),
    import('@hocuspocus/provider'),
  ]);
  return {
    Y,
    WebsocketProvider: yws.WebsocketProvider,
    HocuspocusProvider: hocus.HocuspocusProvider,
    HocuspocusProviderWebsocket: hocus.HocuspocusProviderWebsocket,
  };
}

export type Libraries = Awaited<ReturnType<typeof loadLibraries>>;
type YDoc = InstanceType<Libraries['Y']['Doc']>;

let clientCount = 0;

/**
 * `ws`'s WebSocket with an error listener of its own. Destroying a Hocuspocus provider whose
 * socket is still connecting detaches the provider's listeners and closes the socket, and
 * `ws` then emits "closed before the connection was established" to nobody: an uncaught
 * error that ended the whole client worker (and with it every other system's clients).
 */
class QuietWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    this.on('error', () => {});
  }
}

export function openClient(libs: Libraries, spec: ClientSpec): BenchClient {
  switch (spec.protocol) {
    case 'y-websocket':
    case 'hocuspocus':
      return new YjsClient(libs, spec);
    case 'json':
      return new JsonEventClient(spec, 'chat.message');
    case 'json-ephemeral':
      return new JsonEventClient(spec, 'bench.ping');
    case 'socket.io':
      return new SocketIoClient(spec);
  }
}

/** A Yjs document with a provider; probes are numbers pushed to the Y.Array `probes`. */
class YjsClient implements BenchClient {
  readonly ready: Promise<void>;
  private readonly doc: YDoc;
  /** Destroys the provider (and, for Hocuspocus, its socket). */
  private readonly destroy: () => void;

  constructor(libs: Libraries, spec: ClientSpec) {
    this.doc = new libs.Y.Doc();
    let synced!: () => void;
    let failed!: (err: Error) => void;
    let isSynced = false;
    this.ready = new Promise((resolve, reject) => {
      synced = () => {
        isSynced = true;
        resolve();
      };
      failed = reject;
    });
    // A bench client never rides out a refused or dropped connection: the case fails at once
    // instead of reconnecting until its deadline.
    const lost = (what: string) => {
      if (!isSynced) failed(new Error(`${spec.protocol} client of ${spec.url} ${what} before it synced`));
    };
    if (spec.protocol === 'y-websocket') {
      const provider = new libs.WebsocketProvider(spec.url, spec.room, this.doc, {
        WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
        disableBc: true,
      });
      provider.on('sync', (state: boolean) => {
        if (state) synced();
      });
      provider.on('connection-error', () => lost('could not connect'));
      provider.on('connection-close', (event) => lost(`was closed (${event?.code ?? 'no code'})`));
      this.destroy = () => provider.destroy();
    } else {
      // One socket per document, as a browser tab with one editor has (the provider's default).
      const socket = new libs.HocuspocusProviderWebsocket({
        url: spec.url,
        WebSocketPolyfill: QuietWebSocket,
      });
      const provider = new libs.HocuspocusProvider({
        websocketProvider: socket,
        name: spec.room,
        document: this.doc,
        onSynced: () => synced(),
        onClose: ({ event }) => lost(`was closed (${event.code})`),
      });
      provider.attach();
      this.destroy = () => {
        provider.destroy();
        socket.destroy();
      };
    }
  }

  sendProbe(): void {
    this.doc.getArray<number>('probes').push([now()]);
  }

  onProbe(listener: (sentAt: number) => void): void {
    this.doc.getArray<number>('probes').observe((event) => {
      // Our own pushes are not deliveries: only what came through the server counts.
      if (event.transaction.local) return;
      for (const op of event.changes.delta) {
        if (Array.isArray(op.insert)) for (const sentAt of op.insert as number[]) listener(sentAt);
      }
    });
  }

  seed(bytes: number, chunk: number): void {
    const text = this.doc.getText('seed');
    const block = 'lorem ipsum dolor sit amet '.repeat(Math.ceil(chunk / 27)).slice(0, chunk);
    for (let written = 0; written < bytes; written += chunk) {
      text.insert(text.length, block.slice(0, Math.min(chunk, bytes - written)));
    }
  }

  seededLength(): number {
    return this.doc.getText('seed').length;
  }

  onChange(listener: () => void): void {
    this.doc.on('update', listener);
  }

  async burst(count: number, perTask: number): Promise<void> {
    const map = this.doc.getMap<number>('burst');
    for (let i = 0; i < count; i++) {
      map.set(`k${i}`, i);
      if ((i + 1) % perTask === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  burstKeys(): number {
    return this.doc.getMap('burst').size;
  }

  close(): void {
    this.destroy();
    this.doc.destroy();
  }
}

/** A client of our JSON event protocol on `/events`; probes are `chat.message` (or `bench.ping`) events. */
class JsonEventClient implements BenchClient {
  readonly ready: Promise<void>;
  private readonly socket: WebSocket;
  private readonly room: string;
  private conn = '';
  private readonly listeners: Array<(sentAt: number) => void> = [];

  constructor(
    spec: ClientSpec,
    private readonly probeType: 'chat.message' | 'bench.ping',
  ) {
    this.room = spec.room;
    this.socket = new WebSocket(spec.url);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.once('close', (code) => reject(new Error(`/events closed (${code}) before the join`)));
      this.socket.on('message', (raw) => {
        const frame = JSON.parse(raw.toString()) as {
          type: string;
          id?: string;
          data?: { conn?: string; text?: string };
          from?: { conn?: string };
        };
        if (frame.type === 'welcome') {
          this.conn = frame.data?.conn ?? '';
          this.socket.send(JSON.stringify({ type: 'room.join', data: { room: this.room }, id: 'join' }));
        } else if (frame.type === 'ack' && frame.id === 'join') resolve();
        else if (frame.type === 'error') reject(new Error(JSON.stringify(frame)));
        else if (frame.type === this.probeType && frame.from?.conn !== this.conn) {
          const sentAt = Number(frame.data?.text);
          for (const listener of this.listeners) listener(sentAt);
        }
      });
    });
  }

  sendProbe(): void {
    // No `id`: an accepted event then gets no ack, as a fire-and-forget client would send it.
    this.socket.send(
      JSON.stringify({ type: this.probeType, room: this.room, data: { text: String(now()) } }),
    );
  }

  onProbe(listener: (sentAt: number) => void): void {
    this.listeners.push(listener);
  }

  seed(): void {
    throw new Error('the JSON protocol has no document');
  }

  burst(): Promise<void> {
    throw new Error('the JSON protocol has no document');
  }

  burstKeys(): number {
    return 0;
  }

  seededLength(): number {
    return 0;
  }

  onChange(): void {}

  close(): void {
    this.socket.terminate();
  }
}

/** A socket.io client over WebSocket only (no long-polling), joined to one room. */
class SocketIoClient implements BenchClient {
  readonly ready: Promise<void>;
  private readonly socket: Socket;
  private readonly id = `c${process.pid}-${++clientCount}`;

  constructor(private readonly spec: ClientSpec) {
    this.socket = io(spec.url, { transports: ['websocket'], reconnection: false, forceNew: true });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect_error', reject);
      this.socket.once('connect', () => {
        this.socket.emit('join', spec.room, () => resolve());
      });
    });
  }

  sendProbe(): void {
    this.socket.emit('event', this.spec.room, { from: this.id, t: now() });
  }

  onProbe(listener: (sentAt: number) => void): void {
    this.socket.on('event', (_room: string, data: { from: string; t: number }) => {
      if (data.from !== this.id) listener(data.t);
    });
  }

  seed(): void {
    throw new Error('socket.io has no document');
  }

  burst(): Promise<void> {
    throw new Error('socket.io has no document');
  }

  burstKeys(): number {
    return 0;
  }

  seededLength(): number {
    return 0;
  }

  onChange(): void {}

  close(): void {
    this.socket.disconnect();
  }
}
