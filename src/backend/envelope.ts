import type { Event, RoomEvent, StoredEvent } from '../core/events/event';

/**
 * How an event travels between nodes and sits in a Redis stream: a 4-byte big-endian
 * header length, the JSON header, then the raw body when the data is bytes (Yjs
 * updates stay binary: no base64 on the hot path).
 *
 *   [u32 n][n bytes JSON {type, room, from, stream?, offset?, epoch?, data? , bin?}][body]
 */
interface Header {
  type: string;
  room?: string;
  from: Event['from'];
  stream?: RoomEvent['stream'];
  offset?: number;
  epoch?: string;
  data?: unknown;
  /** Set when the data is the binary body. */
  bin?: 1;
}

export function encodeEnvelope(event: Event): Buffer {
  const binary = event.data instanceof Uint8Array ? event.data : undefined;
  const header: Header = {
    type: event.type,
    room: event.room,
    from: event.from,
    stream: event.stream,
    offset: event.offset,
    epoch: event.epoch,
  };
  if (binary) header.bin = 1;
  else header.data = event.data;
  const json = Buffer.from(JSON.stringify(header));
  const out = Buffer.allocUnsafe(4 + json.length + (binary?.length ?? 0));
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  if (binary) out.set(binary, 4 + json.length);
  return out;
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
