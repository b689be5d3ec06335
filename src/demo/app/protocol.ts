/**
 * The frames of the JSON event protocol the page uses (docs/protocol.md). Types only, no
 * DOM, so the room model that reads them can be tested under Node.
 */

/** A frame the server sends on /events (docs/protocol.md). */
export interface ServerFrame {
  readonly type: string;
  readonly id?: string | number;
  readonly room?: string;
  readonly data?: unknown;
  readonly code?: string;
  readonly message?: string;
  readonly from?: { readonly node: string; readonly conn?: string; readonly user?: string };
  readonly offset?: number;
}

export interface Member {
  readonly conn: string;
  readonly user: string;
  readonly node: string;
}

/** The `room.join` ack. */
export interface JoinAnswer {
  readonly room: string;
  readonly members: readonly Member[];
  readonly state: Readonly<Record<string, unknown>>;
  readonly offset: number;
  readonly epoch: string;
  readonly recovered?: boolean;
}

export interface Welcome {
  readonly node: string;
  readonly conn: string;
  readonly user: string;
}
