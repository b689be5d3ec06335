import type { CopyCoordination } from '../../backend/copy-coordination';
import { DOCUMENT_STREAM } from '../../backend/document-store';
import type { RoomRestore } from '../../backend/room-restore';
import { copiedOf, type DocumentStore } from '../../backend/storage/document-store';
import { ErrorCode, SwarmError } from '../../core/errors';
import { roomName } from '../../core/events/builtin/room';
import { DEFAULT_STREAM } from '../../core/events/event';
import type { Host } from '../../core/host';
import { sendJson } from '../../core/http/respond';
import type { AdminEndpoint } from '../admin/admin-api';
import type { DocumentReader } from './persister';
import { eventStreamsOf } from './storage-tier';

export interface StorageAdminParts {
  readonly node: Host;
  readonly store: DocumentStore;
  readonly restore: RoomRestore;
  readonly coordination: CopyCoordination;
  readonly document: DocumentReader;
}

/** How long a delete holds the room's copy duty, so that no copy writes the room back meanwhile. */
const DELETE_LOCK_MS = 10_000;

function roomParam(value: string | undefined): string {
  const parsed = roomName.safeParse(value);
  if (!parsed.success) throw new SwarmError(ErrorCode.BadFrame, 'the room name must be 1-200 characters');
  return parsed.data;
}

/** Whether Redis holds the room now (loaded, or written since storage was on). */
async function inRedis(parts: StorageAdminParts, room: string): Promise<boolean> {
  const { backend } = parts.node;
  const streams = [...eventStreamsOf(parts.node.registry), DOCUMENT_STREAM];
  const heads = await Promise.all(streams.map((stream) => backend.history.head(room, stream)));
  return heads.some((head) => head.offset > 0) || (await parts.restore.isLoaded(room));
}

/** The storage routes of the admin API (docs/operations.md): list rooms, export a document, delete a room. */
export function storageEndpoints(parts: StorageAdminParts): Record<string, AdminEndpoint> {
  return {
    'GET rooms': async (_req, res, _params, url) => {
      const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 100) || 100, 1), 1000);
      const after = url.searchParams.get('after') ?? undefined;
      const rooms = await parts.store.rooms({ after, limit });
      const listed = await Promise.all(
        rooms.map(async (room) => ({
          room: room.room,
          bytes: room.bytes,
          lastActivity: new Date(room.activeAt).toISOString(),
          inRedis: await inRedis(parts, room.room),
          // One position per stream, `events` always there (as before app streams were kept).
          copied: {
            events: copiedOf(room.progress, DEFAULT_STREAM),
            ...room.progress.streams,
            yjs: room.progress.yjs,
          },
        })),
      );
      sendJson(res, 200, { rooms: listed, next: rooms.length === limit ? rooms.at(-1)!.room : null });
    },
    'GET rooms/:/document': async (_req, res, params) => {
      const room = roomParam(params[0]);
      let update: Uint8Array | undefined;
      if (await inRedis(parts, room)) update = (await parts.document(room)).update;
      else update = (await parts.store.load(room, 0))?.document?.update;
      if (!update) return sendJson(res, 404, { error: `room "${room}" has no Yjs document` });
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': update.length,
        'content-disposition': `attachment; filename="${encodeURIComponent(room)}.yjs"`,
      });
      res.end(Buffer.from(update.buffer, update.byteOffset, update.byteLength));
    },
    'DELETE rooms/:': async (_req, res, params) => {
      const room = roomParam(params[0]);
      const token = await parts.coordination.lock(room, DELETE_LOCK_MS);
      if (!token) return sendJson(res, 409, { error: `room "${room}" is being copied right now; retry` });
      try {
        const hot = await inRedis(parts, room);
        if (hot && !(await parts.restore.evict(room, eventStreamsOf(parts.node.registry), true))) {
          return sendJson(res, 409, {
            error: `room "${room}" has members or open editors on some node (or this node keeps rooms in memory); it is deleted only when nobody is in it`,
          });
        }
        const stored = await parts.store.delete(room);
        await parts.coordination.forget(room);
        parts.node.log.info({ room, redis: hot, database: stored }, 'room deleted by admin API');
        sendJson(res, 200, { room, deleted: { redis: hot, database: stored } });
      } finally {
        await parts.coordination.unlock(room, token).catch(() => {});
      }
    },
  };
}
