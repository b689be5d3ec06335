import type { Event, RoomEvent, StoredEvent } from '../core/events/event';

/**
 * How an event travels between nodes and sits in a Redis stream: a 4-byte big-endian
 * header length, the JSON header, then the raw body when the data is bytes (Yjs
 * updates stay binary: no base64 on the hot path).
 *
 *   [u32 n][n bytes JSON {from, type, room, stream?, offset?, epoch?, data? , bin?}][body]
 */
interface Header {
  from: Event['from'];
  type: string;
  room?: string;
  stream?: RoomEvent['stream'];
  offset?: number;
  epoch?: string;
  data?: unknown;
  /** Set when the data is the binary body. */
  bin?: 1;
}

export function encodeEnvelope(event: Event): Buffer {
  const binary = event.data instanceof Uint8Array ? event.data : undefined;
  // `from` first: a node drops its own messages by their first bytes (`isFromNode`).
  const header: Header = {
    from: event.from,
    type: event.type,
    room: event.room,
    stream: event.stream,
    offset: event.offset,
    epoch: event.epoch,
  };
  if (binary) header.bin = 1;
  else header.data = event.data;
  const json = JSON.stringify(header);
  const length = Buffer.byteLength(json);
  // One buffer, written in place: no intermediate copy of the header.
  const out = Buffer.allocUnsafe(4 + length + (binary?.length ?? 0));
  out.writeUInt32BE(length, 0);
  out.write(json, 4, 'utf8');
  if (binary) out.set(binary, 4 + length);
  return out;
}

/**
 * The first header bytes of every envelope `encodeEnvelope` writes for an event whose
 * sender's first field is `node` (every event a node sends from a socket or as itself).
 */
export function nodePrefix(node: string): Buffer {
  return Buffer.from(`{"from":{"node":${JSON.stringify(node)}`);
}

/**
 * Whether `bytes` is an envelope from the node of `prefix` (`nodePrefix`), read from its
 * first bytes without decoding it: a node hears its own publishes on every room channel
 * it shares with another node, and drops them. The prefix ends with the id's closing
 * quote, so it names that one node; false means "decode it and see", never "not ours".
 */
export function isFromNode(bytes: Buffer, prefix: Buffer): boolean {
  return (
    bytes.length >= 4 + prefix.length && bytes.compare(prefix, 0, prefix.length, 4, 4 + prefix.length) === 0
  );
}

/** Decodes an envelope; throws on bytes that are not one. */
export function decodeEnvelope(bytes: Buffer): Event {
  if (bytes.length < 4) throw new Error('envelope too short');
  const length = bytes.readUInt32BE(0);
  if (4 + length > bytes.length) throw new Error('envelope header truncated');
  const header = JSON.parse(bytes.subarray(4, 4 + length).toString('utf8')) as Header;
  const data = header.bin ? new Uint8Array(bytes.subarray(4 + length)) : header.data;
  return {
    type: header.type,
    room: header.room,
    data,
    from: header.from,
    stream: header.stream,
    offset: header.offset,
    epoch: header.epoch,
  };
}

/** Decodes a stream entry: an envelope with its room and position; throws on anything less. */
export function decodeStored(bytes: Buffer): StoredEvent {
  const event = decodeEnvelope(bytes);
  const { room, stream, offset, epoch } = event;
  if (room === undefined || stream === undefined || offset === undefined || epoch === undefined) {
    throw new Error('stream entry without its room or position');
  }
  return { ...event, room, stream, offset, epoch };
}
