import { z } from 'zod';
import type { RevocationStore } from '../../backend/revocation-store';
import type { ConnectionTable } from '../../core/connection-table';
import { CloseCode } from '../../core/errors';
import { roomName } from '../../core/events/builtin/room';
import { type AnyEventDefinition, defineEvent, type EmitResult } from '../../core/events/event-definition';
import type { Revocations } from './revocations';

export const REVOKE_EVENT = 'user.revoke';

const revokeData = z.object({
  user: z.string().min(1).max(256),
  room: roomName.optional(),
  /**
   * Unix seconds. Filled in by the issuing node when absent: the router validates before
   * it publishes, so every node gets the same value and refuses the same tokens.
   */
  at: z
    .number()
    .int()
    .min(0)
    .default(() => Math.floor(Date.now() / 1000)),
  /** Why, for the logs (the admin API passes the operator's reason). */
  reason: z.string().max(500).optional(),
});

/**
 * `user.revoke`: cluster scope, server only. Runs once on every live node: each
 * remembers the revocation (so the same token is refused when the client reconnects)
 * and closes the user's sockets there, or only those in `room`, with 4403. The node
 * that issued it also writes it to the store, for nodes that start later.
 */
export function revokeEvent(revocations: Revocations, store: RevocationStore): AnyEventDefinition {
  return defineEvent({
    type: REVOKE_EVENT,
    scope: 'cluster',
    access: 'server',
    description: "Disconnect a user's connections (or those in one room) on every node; 4403.",
    data: revokeData,
    async handle(ctx) {
      const { user, room, at, reason } = ctx.data;
      revocations.record(user, room, at);
      if (ctx.origin.kind === 'server') await store.add({ user, room, at });
      const closed = closeConnectionsOf(ctx.node.connections, user, room);
      ctx.log.info({ user, room, reason, closed }, 'access revoked');
    },
  });
}

/** Closes `user`'s connections on this node (those in `room` when given); returns how many. */
export function closeConnectionsOf(connections: ConnectionTable, user: string, room?: string): number {
  let closed = 0;
  for (const conn of connections.ofUser(user)) {
    if (room !== undefined && !conn.rooms.has(room)) continue;
    conn.close(CloseCode.Revoked, room === undefined ? 'access revoked' : `access to room ${room} revoked`);
    closed++;
  }
  return closed;
}

/** Anything that can emit server events: a SwarmNode, or a handler's `ctx`. */
export interface Emitter {
  emit(type: string, options: { room?: string; data: unknown }): Promise<EmitResult>;
}

/**
 * The server-side API: disconnects every connection of `user` (or of `user` in `room`)
 * on every node of the cluster with close code 4403, and refuses the tokens issued
 * until now. Resolves once the revocation is published and applied on this node.
 */
export async function revokeUser(node: Emitter, user: string, room?: string, reason?: string): Promise<void> {
  await node.emit(REVOKE_EVENT, { data: { user, room, reason } });
}
