import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ConfigError } from '../errors';

type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * The HTTP server a node serves on: its own, which it listens on and closes, or one the
 * app owns, on which it only adds (and later removes) its upgrade listener. Everything
 * that differs between the two cases is here, so the node does not ask which it has.
 */
export class NodeServer {
  readonly server: Server;
  /** Whether the node created the server (and so listens on it and closes it). */
  readonly owned: boolean;
  private readonly upgradeListener: UpgradeListener;

  constructor(
    appServer: Server | undefined,
    onRequest: (req: IncomingMessage, res: ServerResponse) => void,
    onUpgrade: UpgradeListener,
  ) {
    this.owned = appServer === undefined;
    this.server = appServer ?? createServer(onRequest);
    this.upgradeListener = onUpgrade;
    this.server.on('upgrade', this.upgradeListener);
  }

  /** Whether this node's listener still takes the server's upgrades. */
  get attached(): boolean {
    return this.server.listeners('upgrade').includes(this.upgradeListener);
  }

  /** Whether this node is the only one answering upgrades (nobody else would answer a refused one). */
  get alone(): boolean {
    return this.owned || this.server.listenerCount('upgrade') === 1;
  }

  /** Binds the port of a server of the node's own; a taken or forbidden address is a `ConfigError` naming the variable. */
  async listen(port: number, host: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const failed = (err: NodeJS.ErrnoException) => reject(listenError(err, host, port));
      this.server.once('error', failed);
      this.server.listen(port, host, () => {
        this.server.off('error', failed);
        resolve();
      });
    });
  }

  /** The server's port; 0 while a server the app owns is not listening yet. */
  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  /** The address the node is reached on, for the registry; undefined until it listens. */
  address(configuredHost: string): string | undefined {
    if (!this.server.listening) return undefined;
    const host = this.owned ? configuredHost : ((this.server.address() as AddressInfo | null)?.address ?? '');
    return `${host}:${this.port}`;
  }

  /** Stops answering upgrades on a server the app owns. */
  detach(): void {
    this.server.off('upgrade', this.upgradeListener);
  }

  /** Closes a server of the node's own with every connection on it; detaches from an app's. */
  async close(): Promise<void> {
    if (!this.owned) {
      this.detach();
      return;
    }
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  const address = `${host}:${port}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new ConfigError('PORT', `${address} is already in use (EADDRINUSE)`);
    case 'EACCES':
      return new ConfigError('PORT', `${address} needs privileges this process lacks (EACCES)`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new ConfigError('HOST', `${address} is not an address of this machine (${err.code})`);
    default:
      return err;
  }
}
