import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NodeServer } from './node-server';
import { refuseUpgrade } from './respond';
import { HttpRoutes } from './routes';

/** Where a node is in its life, as far as taking new work goes. */
export type NodePhase = 'starting' | 'serving' | 'draining';

export interface UpgradeGateDeps {
  readonly server: NodeServer;
  readonly routes: HttpRoutes;
  readonly phase: () => NodePhase;
  /** Connections open now. */
  readonly open: () => number;
  /** MAX_CONNECTIONS. */
  readonly maxConnections: number;
}

/**
 * Decides, before any endpoint sees it, whether an upgrade may go on: the node must be
 * serving, the path one of its endpoints, and the node under its connection cap
 * (counting the upgrades still being authenticated, which are not connections yet).
 * Every refusal is an HTTP status with a JSON reason (docs/codes.md), not an
 * open-then-close.
 */
export class UpgradeGate {
  /** Upgrades past the cap check that have not become connections yet. */
  private upgrading = 0;

  constructor(private readonly deps: UpgradeGateDeps) {}

  /** Runs an upgrade's authentication, counting it against the cap meanwhile. */
  async counting<T>(work: () => Promise<T>): Promise<T> {
    this.upgrading++;
    try {
      return await work();
    } finally {
      this.upgrading--;
    }
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { server, routes, phase } = this.deps;
    // The endpoints are modules that install during start: until then, on a server of
    // the node's own (or with no other listener), every upgrade is told to come back.
    if (phase() === 'starting' && server.alone) {
      socket.on('error', destroyOnError);
      refuseUpgrade(socket, 503, 'node starting');
      return;
    }
    const endpoint = routes.upgradeFor(req);
    if (!endpoint) {
      // Another path is the app's, when the app listens for upgrades too; with nobody
      // else to answer, the socket would hang, so it is refused as Node would close it.
      if (server.server.listenerCount('upgrade') === 1) {
        socket.on('error', destroyOnError);
        HttpRoutes.refuseUnknown(req, socket);
      }
      return;
    }
    socket.on('error', destroyOnError);
    const now = phase();
    if (now !== 'serving') {
      refuseUpgrade(socket, 503, now === 'draining' ? 'node draining' : 'node starting');
      return;
    }
    if (this.deps.open() + this.upgrading >= this.deps.maxConnections) {
      refuseUpgrade(socket, 503, 'node at its connection limit (MAX_CONNECTIONS)');
      return;
    }
    endpoint(socket, head);
  }
}

/** An upgrading socket's error ends it; one function for every socket (it stays on the open ones). */
function destroyOnError(this: Duplex): void {
  this.destroy();
}
