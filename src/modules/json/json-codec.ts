import { ErrorCode } from '../../core/errors';
import type { Event } from '../../core/events/event';
import type {
  AckFrame,
  ClientFrame,
  ErrorFrame,
  EventFrame,
  FrameId,
  WelcomeFrame,
} from '../../core/protocol/wire';

/** Longest `id` a client may attach; it is echoed back, so it is bounded. */
const MAX_ID_LENGTH = 128;

export type DecodeResult =
  | { readonly ok: true; readonly frame: ClientFrame }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string; readonly id?: FrameId };

/** Decodes one text frame of the JSON event protocol. Never throws. */
export function decodeJsonFrame(text: string): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: ErrorCode.BadJson, message: 'the frame is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: ErrorCode.BadFrame, message: 'a frame must be a JSON object' };
  }
  const { type, room, data, id, durable } = value as Record<string, unknown>;
  const validId =
    (typeof id === 'string' && id.length <= MAX_ID_LENGTH) || (typeof id === 'number' && Number.isFinite(id));
  if (id !== undefined && !validId) {
    return {
      ok: false,
      code: ErrorCode.BadFrame,
      message: `"id" must be a string (at most ${MAX_ID_LENGTH}) or a number`,
    };
  }
  const checkedId = id as FrameId | undefined;
  if (typeof type !== 'string' || type === '') {
    return {
      ok: false,
      code: ErrorCode.BadFrame,
      message: '"type" must be a non-empty string',
      id: checkedId,
    };
  }
  if (room !== undefined && typeof room !== 'string') {
    return { ok: false, code: ErrorCode.BadFrame, message: '"room" must be a string', id: checkedId };
  }
  if (durable !== undefined && typeof durable !== 'boolean') {
    return { ok: false, code: ErrorCode.BadFrame, message: '"durable" must be true or false', id: checkedId };
  }
  return { ok: true, frame: { type, room, data, id: checkedId, ...(durable ? { durable } : {}) } };
}

/** The protocol's own frames; room events go through `encodeEvent`. */
export function encodeFrame(frame: WelcomeFrame | AckFrame | ErrorFrame): string {
  return JSON.stringify(frame);
}

/**
 * The text frame of an event, encoded once however many members receive it (the
 * same event object goes to every member of a room on this node).
 */
const encoded = new WeakMap<Event, string>();

export function encodeEvent(event: Event): string {
  let text = encoded.get(event);
  if (text === undefined) {
    const frame: EventFrame = {
      type: event.type,
      // Only room events reach members, so `room` is always there.
      room: event.room ?? '',
      data: event.data,
      from: event.from,
      offset: event.offset,
    };
    text = JSON.stringify(frame);
    encoded.set(event, text);
  }
  return text;
}
