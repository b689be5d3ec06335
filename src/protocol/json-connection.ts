import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Connection, Identity } from '../connection';
import { CloseCode, ErrorCode } from '../errors';
import type { Event } from '../events/event';
import type { Router } from '../events/router';
import type { RateLimiter } from '../limits/rate-limit';
import { overHardLimit } from '../limits/send-buffer';
import type { Logger } from '../log';
import { decodeJsonFrame, encodeEvent, encodeFrame } from './json-codec';
import { holdWritesForTick, releaseNow } from './write-batch';

/** Abuse limits of one socket (docs/security.md); absent ones are off. */
export interface ConnectionLimits {
  readonly rate?: RateLimiter;
  readonly maxSendBufferBytes?: number;
}

/**
 * A client on `WS /events`. Frames of one connection are handled one after another,
 * so a client's events are published in the order it sent them.
 */
export class JsonConnection implements Connection {
  readonly id = randomUUID();
  readonly endpoint = 'json';
  readonly joinsRooms = true;
  readonly limitsOwnRate = true;
  readonly rooms = new Set<string>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: WebSocket,
    readonly identity: Identity,
    private readonly router: Pick<Router, 'fromSocket'>,
    private readonly log: Logger,
    private readonly limits: ConnectionLimits,
    /** The socket under `socket`: its writes are held to the end of each tick (write-batch.ts). */
    private readonly transport: Duplex,
    /** `?client=` of the upgrade (src/events/idempotency.ts). */
    readonly client?: string,
  ) {}

  /** Starts reading frames; call once the connection is registered. */
  open(node: string): void {
    this.send(encodeFrame({ type: 'welcome', data: { node, conn: this.id, user: this.identity.user } }));
    this.socket.on('message', (raw, isBinary) => {
      if (this.socket.readyState !== this.socket.OPEN) return;
      const admission = this.limits.rate?.admit() ?? 'accept';
      if (admission === 'close') return this.close(CloseCode.RateLimited, 'kept sending past the rate limit');
      // Refusals go through the same queue as events so that answers come in frame order.
      this.queue = this.queue.then(() => {
        if (admission === 'drop') {
          const id = isBinary ? undefined : idOf(decodeJsonFrame(raw.toString()));
          return this.error(id, ErrorCode.RateLimited, 'too many messages; this frame was dropped');
        }
        if (isBinary) {
          return this.error(undefined, ErrorCode.BadFrame, 'frames on /events are JSON text, not binary');
        }
        const decoded = decodeJsonFrame(raw.toString());
        if (!decoded.ok) return this.error(decoded.id, decoded.code, decoded.message);
        return this.router.fromSocket(this, decoded.frame);
      });
    });
  }

  /** Resolves when every frame received so far has been handled. */
  settled(): Promise<void> {
    return this.queue;
  }

  deliver(event: Event): void {
    // Binary events (Yjs updates and awareness) are for binary protocols; a room shared by
    // Yjs editors and JSON clients gives its JSON members only the JSON events.
    if (event.data instanceof Uint8Array) return;
    this.send(encodeEvent(event));
  }

  ack(id: string | number, answer: unknown): void {
    this.send(encodeFrame({ type: 'ack', id, data: answer }));
  }

  error(id: string | number | undefined, code: ErrorCode, message: string): void {
    this.send(encodeFrame({ type: 'error', id, code, message }));
  }

  close(code: CloseCode, reason: string): void {
    this.socket.close(code, reason);
  }

  private send(text: string): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    holdWritesForTick(this.transport, this.checkSendBuffer);
    // No callback: a failed write surfaces as the socket's 'error' and 'close'.
    this.socket.send(text);
    // A burst within one tick (a join's history replay) must not pile up past the hard
    // bound before the tick ends: let it go now and check what the kernel did not take.
    const limit = this.limits.maxSendBufferBytes;
    if (limit !== undefined && overHardLimit(this.socket, limit)) releaseNow(this.transport);
  }

  /** Closes a client whose unsent bytes passed the hard bound (see limits/send-buffer.ts). */
  private readonly checkSendBuffer = (): void => {
    const limit = this.limits.maxSendBufferBytes;
    if (limit === undefined || this.socket.readyState !== this.socket.OPEN) return;
    if (!overHardLimit(this.socket, limit)) return;
    this.log.info({ conn: this.id, buffered: this.socket.bufferedAmount }, 'slow consumer closed');
    this.close(CloseCode.SlowConsumer, 'send buffer full: read faster, then reconnect with since');
  };
}

function idOf(decoded: ReturnType<typeof decodeJsonFrame>): string | number | undefined {
  return decoded.ok ? decoded.frame.id : decoded.id;
}

export { CloseCode };
