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

  /** Stops accepting and cuts every proxied connection. */
  async close(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.track(client);
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
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
      // Either side going away takes the other with it, as when a task's container stops.
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
  }

  private track(socket: net.Socket): void {
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
  }
}
