import { z } from 'zod';
import type { DocumentStore, StoredEvent } from '../../backend/storage/document-store';
import { ErrorCode, SwarmError, UnavailableError } from '../../core/errors';
import { roomName } from '../../core/events/builtin/room';
import { DEFAULT_STREAM, type StreamName } from '../../core/events/event';
import { defineEvent } from '../../core/events/event-definition';

/** Most events one page carries: a page is one frame, and frames are bounded (MAX_FRAME_BYTES applies to clients only). */
export const MAX_HISTORY_PAGE = 500;

/**
 * `room.history` (docs/storage.md): pages back through one of a room's event streams
 * (`events` unless it names another of the node's `streams`), beyond what Redis keeps.
 * The newest entries come from Redis (what is not copied yet is there); older ones from
 * the database.
 */
export function roomHistory(store: DocumentStore, streams: () => readonly StreamName[]) {
  return defineEvent({
    type: 'room.history',
    scope: 'local',
    // Read access to the room in `data` is checked by the handler, as room.join does.
    access: 'connect',
    description:
      'Page back through a room stream (`events` unless named): the events before `before` (all when unset), newest `limit`.',
    data: z.object({
      room: roomName,
      stream: z.string().min(1).max(200).default(DEFAULT_STREAM),
      before: z.number().int().min(1).optional(),
      limit: z.number().int().min(1).max(MAX_HISTORY_PAGE).default(100),
    }),
    async handle(ctx) {
      const { room, stream, before, limit } = ctx.data;
      const known = streams();
      if (!known.includes(stream)) {
        throw new SwarmError(
          ErrorCode.InvalidData,
          `no event declares the stream "${stream}"; the streams are: ${known.join(', ')}`,
        );
      }
      const conn = ctx.connection;
      if (conn && !ctx.node.can(conn, 'read', room)) {
        throw new SwarmError(ErrorCode.Forbidden, `no access to room "${room}"`);
      }
      const history = ctx.node.backend.history;
      const head = await history.head(room, stream);
      const upTo = Math.min(before ?? head.offset + 1, head.offset + 1);
      const from = Math.max(0, upTo - 1 - limit);
      const hot = await history.read(room, stream, from, head.epoch, limit);
      let events: StoredEvent[];
      let epoch = head.epoch;
      if (hot.complete) {
        events = hot.events
          .filter((e) => (e.offset ?? 0) < upTo)
          .map((e) => ({ offset: e.offset ?? 0, type: e.type, data: e.data, from: e.from }));
      } else {
        // Redis no longer holds the page: it is older than HISTORY_LIMIT, so it is in the database.
        const page = await store.history(room, { stream, before: upTo, limit }).catch(() => {
          throw new UnavailableError('older history is in the database, which is unavailable; retry later');
        });
        events = page.events;
        epoch = page.epoch || epoch;
      }
      return {
        room,
        stream,
        epoch,
        events: events.map((e) => ({ type: e.type, room, data: e.data, from: e.from, offset: e.offset })),
        more: (events[0]?.offset ?? upTo) > 1,
      };
    },
  });
}
