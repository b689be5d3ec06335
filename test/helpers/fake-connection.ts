import type { Connection, Identity } from '../../src/core/connection';
import type { CloseCode, ErrorCode } from '../../src/core/errors';
import type { Event } from '../../src/core/events/event';

let count = 0;

/** A Connection that records what the node sends it, for unit tests of the router and hub. */
export class FakeConnection implements Connection {
  readonly id = `fake-${++count}`;
  readonly endpoint = 'json';
  readonly joinsRooms = true;
  readonly limitsOwnRate = true;
  readonly rooms = new Set<string>();
  readonly delivered: Event[] = [];
  readonly acks: Array<{ id: string | number; answer: unknown }> = [];
  readonly errors: Array<{ id: string | number | undefined; code: ErrorCode; message: string }> = [];
  closedWith: CloseCode | undefined;

  constructor(readonly identity: Identity = { user: `user-${count}` }) {}

  deliver(event: Event): void {
    this.delivered.push(event);
  }
  ack(id: string | number, answer: unknown): void {
    this.acks.push({ id, answer });
  }
  error(id: string | number | undefined, code: ErrorCode, message: string): void {
    this.errors.push({ id, code, message });
  }
  close(code: CloseCode): void {
    this.closedWith = code;
  }
}
