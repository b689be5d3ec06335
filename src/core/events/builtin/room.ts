import { z } from 'zod';
import type { Member } from '../../../backend/backend';
import type { Connection } from '../../connection';
import { ErrorCode, SwarmError } from '../../errors';
import type { JoinAnswer, LeaveAnswer, StateChange } from '../../protocol/wire';
import { DEFAULT_STREAM, type Position, type RoomEvent } from '../event';
import type { NodeServices } from '../event-definition';
import { defineEvent } from '../event-definition';

/** Room names: any non-empty string up to this length (UTF-16 units); it ends up in Redis keys. */
export const MAX_ROOM_NAME = 200;
export const roomName = z.string().min(1).max(MAX_ROOM_NAME);

const memberData = z.object({ conn: z.string(), user: z.string(), node: z.string() });

export const roomJoin = defineEvent({
  type: 'room.join',
  scope: 'local',
  // Access to the room itself is checked by the handler: the room is in `data`.
  access: 'connect',
  description: 'Join a room; with `since`, receive the events missed after that offset.',
  data: z.object({
    room: roomName,
    since: z.number().int().min(0).optional(),
    epoch: z.string().optional(),
  }),
  async handle(ctx) {
    const conn = requireConnection(ctx.connection, 'room.join');
    const { room, since, epoch } = ctx.data;
    const { hub, backend } = ctx.node;
    if (!ctx.node.can(conn, 'read', room)) {
      throw new SwarmError(ErrorCode.Forbidden, `no access to room "${room}"`);
    }
    const alreadyMember = conn.rooms.has(room);
    const entry = alreadyMember ? undefined : await hub.enter(room, conn);
    const member: Member = { conn: conn.id, user: conn.identity.user, node: ctx.node.id };
    let answer: JoinAnswer;
    let replay: RoomEvent[] = [];
    try {
      if (entry) await backend.members.add(room, member);
      const [members, state] = await Promise.all([backend.members.list(room), backend.state.all(room)]);
      let position = entry?.positions[DEFAULT_STREAM] ?? (await backend.history.head(room, DEFAULT_STREAM));
      let recovered: boolean | undefined;
      if (since !== undefined && entry) {
        if (since > position.offset) {
          // Past where this node stands: the node may be behind the stream (a lost
          // subscription not yet repaired). Then the member has everything up to `since`;
          // it is not sent again, and what comes after follows once the node has caught up.
          ({ recovered, position } = await aheadOfNode(ctx.node, room, since, epoch, position));
          if (recovered) entry.holdsThrough(DEFAULT_STREAM, since);
        } else {
          ({ replay, recovered } = await readMissed(ctx.node, room, since, epoch, position));
        }
      }
      answer = { room, members, state, offset: position.offset, epoch: position.epoch, recovered };
    } catch (err) {
      // Undo the half-done join; the original error is what the client must see.
      if (entry) await leaveRoom(ctx.node, conn, room).catch(() => {});
      throw err;
    }
    ctx.reply(answer);
    entry?.release(replay);
    // The client has been told it is a member: a failed announcement must not undo that
    // (it would leave a client that believes it joined, refused with `not_joined`). The
    // membership is stored; only the others' notice of it is missing, until they rejoin.
    if (entry) {
      await ctx.emit('room.member.joined', { room, data: member }).catch((err: unknown) => {
        ctx.log.warn({ err, room }, 'could not announce a member who joined');
      });
    }
  },
});

/**
 * A member back with `since` past this node's position: recovered when the stream's
 * history holds `since` itself in the epoch the member names (or it names none), so
 * `since` is an offset the stream handed out and the node is only behind; its answer's
 * position is then `since`. A `since` past the stream's head is not recovered.
 */
async function aheadOfNode(
  node: NodeServices,
  room: string,
  since: number,
  epoch: string | undefined,
  position: Position,
): Promise<{ recovered: boolean; position: Position }> {
  const read = await node.backend.history.read(room, DEFAULT_STREAM, since - 1, epoch, 1);
  if (!read.complete || read.events[0]?.offset !== since) return { recovered: false, position };
  return { recovered: true, position: { offset: since, epoch: read.head.epoch } };
}

/** Reads (since, upTo] of the room's events stream, or says it cannot. */
async function readMissed(
  node: NodeServices,
  room: string,
  since: number,
  epoch: string | undefined,
  position: Position,
): Promise<{ replay: RoomEvent[]; recovered: boolean }> {
  const upTo = position.offset;
  // An empty epoch is no epoch, as for a read (history-reach.ts): a room's first join
  // answers `epoch: ""` before anything is appended, and a client may send that back.
  if (since === upTo) {
    return { replay: [], recovered: epoch === undefined || epoch === '' || epoch === position.epoch };
  }
  const read = await node.backend.history.read(room, DEFAULT_STREAM, since, epoch, upTo - since);
  if (!read.complete) return { replay: [], recovered: false };
  return { replay: read.events.filter((e) => (e.offset ?? 0) <= upTo), recovered: true };
}

export const roomLeave = defineEvent({
  type: 'room.leave',
  scope: 'local',
  access: 'connect',
  data: z.object({ room: roomName }),
  async handle(ctx): Promise<LeaveAnswer> {
    const conn = requireConnection(ctx.connection, 'room.leave');
    if (!conn.rooms.has(ctx.data.room)) {
      throw new SwarmError(ErrorCode.NotJoined, `not a member of room "${ctx.data.room}"`);
    }
    await leaveRoom(ctx.node, conn, ctx.data.room);
    return { room: ctx.data.room };
  },
});

export const roomMemberJoined = defineEvent({
  type: 'room.member.joined',
  scope: 'room',
  access: 'server',
  data: memberData,
});

export const roomMemberLeft = defineEvent({
  type: 'room.member.left',
  scope: 'room',
  access: 'server',
  data: memberData,
});

export const roomStateSet = defineEvent({
  type: 'room.state.set',
  scope: 'room',
  access: 'write',
  publishAs: 'room.state.changed',
  description: 'Set a key of the room state (null deletes it); members get room.state.changed.',
  data: z.object({ key: z.string().min(1).max(256), value: z.json() }),
  async handle(ctx): Promise<StateChange> {
    await ctx.state.set(ctx.data.key, ctx.data.value);
    return { key: ctx.data.key, value: ctx.data.value };
  },
});

/**
 * Takes a connection out of a room on this node and in the cluster, and tells the
 * room. Used by room.leave and when a socket closes.
 */
export async function leaveRoom(node: NodeServices, conn: Connection, room: string): Promise<void> {
  const wasLocal = await node.hub.exit(room, conn);
  let removed: boolean;
  try {
    removed = await node.backend.members.remove(room, conn.id);
  } catch (err) {
    // The connection has left this node's room already; the registry catches up later.
    node.membershipStale();
    throw err;
  }
  if (wasLocal && removed) {
    await node.emit('room.member.left', {
      room,
      data: { conn: conn.id, user: conn.identity.user, node: node.id },
    });
  }
}

function requireConnection(conn: Connection | undefined, type: string): Connection {
  if (!conn) throw new SwarmError(ErrorCode.Rejected, `${type} is sent by client connections only`);
  return conn;
}
