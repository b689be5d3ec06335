import { type Decoder, decoding, encoding, Y } from './esm';

/**
 * The y-websocket wire format (y-protocols), one message per binary frame:
 *
 *   [varUint messageType][payload]
 *   sync (0):            [varUint syncType][varUint8Array stateVector | update]
 *   awareness (1):       [varUint8Array awarenessUpdate]
 *   auth (2):            [varUint 0 = permission denied][varString reason]   (server to client only)
 *   query-awareness (3): nothing
 */
export const MessageType = { Sync: 0, Awareness: 1, Auth: 2, QueryAwareness: 3 } as const;
export const SyncType = { Step1: 0, Step2: 1, Update: 2 } as const;
const PERMISSION_DENIED = 0;

/** A decoded client frame. Updates are copies with their own buffer, safe to keep. */
export type YjsMessage =
  | { readonly kind: 'sync-step1'; readonly stateVector: Uint8Array }
  | { readonly kind: 'sync-step2'; readonly update: Uint8Array }
  | { readonly kind: 'update'; readonly update: Uint8Array }
  | { readonly kind: 'awareness'; readonly update: Uint8Array }
  | { readonly kind: 'query-awareness' };

export type DecodedFrame =
  | { readonly ok: true; readonly message: YjsMessage }
  | { readonly ok: false; readonly reason: string };

/**
 * Decodes one client frame. Never throws: a frame that is truncated, has trailing bytes,
 * an unknown type, or a payload Yjs cannot read comes back as `{ok: false}`.
 */
export function decodeYjsFrame(frame: Uint8Array): DecodedFrame {
  // lib0 reads byte arrays as views on the underlying ArrayBuffer; a ws Buffer may be a
  // slice of a larger pool, so a lying length could read past the frame. A copy ends where
  // the frame ends, and every length is checked against it.
  const bytes = new Uint8Array(frame);
  try {
    const decoder = decoding.createDecoder(bytes);
    const message = readMessage(decoder);
    if (typeof message === 'string') return { ok: false, reason: message };
    if (decoding.hasContent(decoder)) return { ok: false, reason: 'trailing bytes after the message' };
    return { ok: true, message };
  } catch (err) {
    return { ok: false, reason: `undecodable frame: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function readMessage(decoder: Decoder): YjsMessage | string {
  const type = decoding.readVarUint(decoder);
  switch (type) {
    case MessageType.Sync: {
      const syncType = decoding.readVarUint(decoder);
      const payload = readBytes(decoder);
      switch (syncType) {
        case SyncType.Step1:
          Y.decodeStateVector(payload);
          return { kind: 'sync-step1', stateVector: payload };
        case SyncType.Step2:
          return { kind: 'sync-step2', update: payload };
        case SyncType.Update:
          return { kind: 'update', update: payload };
        default:
          return `unknown sync message type ${syncType}`;
      }
    }
    case MessageType.Awareness: {
      const update = readBytes(decoder);
      decodeAwarenessUpdate(update);
      return { kind: 'awareness', update };
    }
    case MessageType.QueryAwareness:
      return { kind: 'query-awareness' };
    case MessageType.Auth:
      return 'auth messages are sent by the server only';
    default:
      return `unknown message type ${type}`;
  }
}

/** Reads a length-prefixed byte array, refusing a length past the end, as a copy. */
function readBytes(decoder: Decoder): Uint8Array {
  const length = decoding.readVarUint(decoder);
  if (decoder.pos + length > decoder.arr.length) throw new Error('length past the end of the frame');
  return decoding.readUint8Array(decoder, length).slice();
}

export function encodeSyncStep1(stateVector: Uint8Array): Uint8Array {
  return encodeSync(SyncType.Step1, stateVector);
}

export function encodeSyncStep2(update: Uint8Array): Uint8Array {
  return encodeSync(SyncType.Step2, update);
}

export function encodeUpdate(update: Uint8Array): Uint8Array {
  return encodeSync(SyncType.Update, update);
}

/**
 * The header, then the payload in one copy into a frame of its exact size: lib0's encoder
 * copies a payload larger than its buffer twice (into a chunk, then into the result), 20 MB
 * of copying for a 10 MB document's sync step 2.
 */
function encodeSync(syncType: number, payload: Uint8Array): Uint8Array {
  const header = encoding.createEncoder();
  encoding.writeVarUint(header, MessageType.Sync);
  encoding.writeVarUint(header, syncType);
  encoding.writeVarUint(header, payload.length);
  const head = encoding.toUint8Array(header);
  const frame = Buffer.allocUnsafe(head.length + payload.length);
  frame.set(head);
  frame.set(payload, head.length);
  return frame;
}

export function encodeAwareness(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.Awareness);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}

export function encodeQueryAwareness(): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.QueryAwareness);
  return encoding.toUint8Array(encoder);
}

export function encodePermissionDenied(reason: string): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.Auth);
  encoding.writeVarUint(encoder, PERMISSION_DENIED);
  encoding.writeVarString(encoder, reason);
  return encoding.toUint8Array(encoder);
}

/** One client's entry in an awareness update. `state` is JSON text; `"null"` means the client left. */
export interface AwarenessState {
  readonly client: number;
  readonly clock: number;
  readonly state: string;
}

/** Reads an awareness update (y-protocols' encodeAwarenessUpdate). Throws on bad bytes or bad JSON. */
export function decodeAwarenessUpdate(update: Uint8Array): AwarenessState[] {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const states: AwarenessState[] = [];
  for (let i = 0; i < count; i++) {
    const client = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    const state = decoding.readVarString(decoder);
    JSON.parse(state);
    states.push({ client, clock, state });
  }
  if (decoding.hasContent(decoder)) throw new Error('trailing bytes after the awareness update');
  return states;
}

export function encodeAwarenessUpdate(states: readonly AwarenessState[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, states.length);
  for (const { client, clock, state } of states) {
    encoding.writeVarUint(encoder, client);
    encoding.writeVarUint(encoder, clock);
    encoding.writeVarString(encoder, state);
  }
  return encoding.toUint8Array(encoder);
}

/** An update with no structs and no deletions (what a client in sync answers to step 1). */
export const EMPTY_UPDATE = new Uint8Array([0, 0]);

/**
 * Updates already found valid, by identity: a /yjs connection checks a batch before it
 * routes it (to know which frame to blame), and the event's schema then checks the same
 * bytes again; the second check is this lookup instead of another scratch document.
 * Nothing mutates an update once decoded from its frame.
 */
const known = new WeakSet<Uint8Array>();

/**
 * Whether Yjs accepts the update: it must decode and apply to a scratch document.
 * Applying catches what decoding alone lets through (content a document cannot hold),
 * so nothing that would break later merges is ever appended to a room's log.
 */
export function isValidUpdate(update: Uint8Array): boolean {
  if (known.has(update)) return true;
  // A fixed guid: a Doc draws a random one otherwise, which the bench found to be 5% of a
  // node's CPU under load. The scratch document is never shared, so the guid is moot.
  const scratch = new Y.Doc({ guid: 'swarmcast-validate' });
  try {
    Y.applyUpdate(scratch, update);
    known.add(update);
    return true;
  } catch {
    return false;
  } finally {
    scratch.destroy();
  }
}

/** Whether an (already valid) update changes nothing. */
export function isEmptyUpdate(update: Uint8Array): boolean {
  if (update.length <= 2) return true;
  const { structs, ds } = Y.decodeUpdate(update);
  return structs.length === 0 && ds.clients.size === 0;
}
