import net from 'node:net';

/**
 * A stand-in for Docker Swarm's routing mesh: an L4 proxy that hands each new TCP
 * connection to the next target, round-robin, with no stickiness. Like the mesh, it
 * knows nothing of WebSockets or HTTP: bytes in, bytes out. The test changes the
 * target list the way Swarm changes a service's tasks (a new task added, a stopping one
 * removed before it gets SIGTERM). A target that refuses the connection (a killed
 * process) is skipped for the next one, as the mesh stops routing to a dead task.
 */
export class TcpProxy {
  private targets: number[] = [];
  private next = 0;
  private readonly open = new Set<net.Socket>();
  /** Added to every chunk's trip, each way; order is kept. */
  private delayMs = 0;
  /** While true, bytes wait in the proxy (a stalled link: open, silent). */
  private stalled = false;
  /** While true, new connections are cut as they come (a link that is down). */
  private refusing = false;
  private readonly pumps = new Set<() => void>();
  /** How many connections each target port was handed. */
  readonly handed = new Map<number, number>();

  private constructor(private readonly server: net.Server) {}

  static async start(targets: readonly number[] = []): Promise<TcpProxy> {
    const server = net.createServer();
    const proxy = new TcpProxy(server);
    proxy.setTargets(targets);
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  setTargets(targets: readonly number[]): void {
    this.targets = [...targets];
  }

  add(port: number): void {
    if (!this.targets.includes(port)) this.targets.push(port);
  }

  remove(port: number): void {
    this.targets = this.targets.filter((target) => target !== port);
  }

  /** Cuts every proxied connection, as a network blip does, and keeps accepting new ones. */
  cutAll(): void {
    for (const socket of this.open) socket.destroy();
  }

  /** Delays every chunk by `ms` each way from now on (0: no delay); what waits keeps its order. */
  slow(ms: number): void {
    this.delayMs = ms;
  }

  /** Holds every byte in the proxy until `resume()`: the sockets stay open, nothing flows. */
  stall(): void {
    this.stalled = true;
  }

  /** Ends a `stall()` or `down()` and removes any delay: what waited goes on in order. */
  resume(): void {
    this.stalled = false;
    this.refusing = false;
    this.delayMs = 0;
    for (const pump of this.pumps) pump();
  }

  /** Cuts every connection and cuts new ones as they arrive, until `resume()`. */
  down(): void {
    this.refusing = true;
    this.cutAll();
  }

  /** Stops accepting and cuts every proxied connection. */
  async close(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.track(client);
    if (this.refusing) {
      client.destroy();
      return;
    }
    client.pause();
    client.on('error', () => client.destroy());
    this.connect(client, this.targets.length);
  }

  /** Tries targets in turn, starting at the next one, until one accepts or all refused. */
  private connect(client: net.Socket, triesLeft: number): void {
    if (triesLeft <= 0 || this.targets.length === 0 || client.destroyed) {
      client.destroy();
      return;
    }
    const port = this.targets[this.next++ % this.targets.length]!;
    const upstream = net.connect(port, '127.0.0.1');
    this.track(upstream);
    let connected = false;
    upstream.once('error', () => {
      upstream.destroy();
      if (connected) client.destroy();
      else this.connect(client, triesLeft - 1);
    });
    upstream.once('connect', () => {
      connected = true;
      this.handed.set(port, (this.handed.get(port) ?? 0) + 1);
      this.forward(client, upstream);
      this.forward(upstream, client);
      client.resume();
      // Either side going away takes the other with it, as when a task's container stops.
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
  }

  /**
   * Copies `from` to `to` through a queue, so that a delay or a stall can hold bytes
   * without reordering them. With neither, a chunk is written at once, as `pipe` would.
   */
  private forward(from: net.Socket, to: net.Socket): void {
    const queue: { chunk: Buffer; at: number }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const pump = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      while (queue.length > 0 && !this.stalled && !to.destroyed) {
        const wait = queue[0]!.at - Date.now();
        if (wait > 0) {
          timer = setTimeout(pump, wait);
          return;
        }
        to.write(queue.shift()!.chunk);
      }
    };
    this.pumps.add(pump);
    from.on('data', (chunk: Buffer) => {
      if (queue.length === 0 && this.delayMs === 0 && !this.stalled) {
        to.write(chunk);
        return;
      }
      queue.push({ chunk, at: Date.now() + this.delayMs });
      if (!timer) pump();
    });
    from.once('close', () => {
      if (timer) clearTimeout(timer);
      this.pumps.delete(pump);
    });
  }

  private track(socket: net.Socket): void {
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
  }
}
