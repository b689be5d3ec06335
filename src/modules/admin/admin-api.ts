import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { NodeInfo } from '../../backend/backend';
import { ErrorCode, SwarmError } from '../../core/errors';
import { roomName } from '../../core/events/builtin/room';
import type { Extension, Host } from '../../core/host';
import { sendJson } from '../../core/http/respond';
import { REVOKE_EVENT, revokeUser } from '../auth/revoke';
import { bearerMatches } from './bearer';
import { BadRequest, readJsonBody } from './body';

/** Extra figures about a room from other modules (the Yjs log size); keyed by section name. */
export type RoomInspector = (room: string) => Promise<unknown>;

/**
 * An endpoint another module adds (the storage module's rooms, export and delete), keyed
 * like `GET storage/rooms` or `DELETE rooms/:` (`:` is one path segment, in `params`).
 * It runs behind the same bearer check; a SwarmError it throws maps to a status as here.
 */
export type AdminEndpoint = (
  req: IncomingMessage,
  res: ServerResponse,
  params: string[],
  url: URL,
) => Promise<void>;

const publishBody = z.object({
  type: z.string().min(1).max(200),
  data: z.unknown().optional(),
});
const revokeBody = z.object({
  /** Only the user's access to this room; the whole user when absent. */
  room: roomName.optional(),
  /** For the log, so that the audit trail says why. */
  reason: z.string().max(500).optional(),
});

/** Which HTTP status an error code of the router means to an operator's HTTP client. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.BadFrame]: 400,
  [ErrorCode.UnknownType]: 400,
  [ErrorCode.InvalidData]: 400,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.Rejected]: 422,
  [ErrorCode.Unavailable]: 503,
};

/**
 * The admin HTTP API under /api/ (docs/operations.md). Off unless a token is given:
 * then every /api/ path is a 404 like any unknown path. With a token, a request without
 * `Authorization: Bearer <token>` gets 401 before anything else is looked at.
 */
export class AdminApi {
  private readonly inspectors = new Map<string, RoomInspector>();
  private readonly endpoints = new Map<string, AdminEndpoint>();
  /** The API is installed as the node starts, so this is the node's start time to a few ms. */
  private readonly startedAt = Date.now();

  constructor(
    private readonly node: Host,
    private readonly token: string,
  ) {}

  /** Adds a section to GET /api/rooms/<room> (the Yjs module adds `yjs`). */
  addRoomInspector(section: string, inspector: RoomInspector): void {
    this.inspectors.set(section, inspector);
  }

  /** Adds an endpoint under /api/ (see AdminEndpoint). */
  addEndpoint(route: string, endpoint: AdminEndpoint): void {
    this.endpoints.set(route, endpoint);
  }

  install(): void {
    const serve = (req: IncomingMessage, res: ServerResponse, url: URL) => this.serve(req, res, url);
    for (const method of ['GET', 'POST', 'DELETE']) {
      this.node.route(`${method} /api/*`, serve);
    }
  }

  private async serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!bearerMatches(req.headers.authorization, this.token)) {
      res.setHeader('www-authenticate', 'Bearer realm="swarmcast-admin"');
      return sendJson(res, 401, {
        error: 'a valid admin token is required: Authorization: Bearer <ADMIN_TOKEN>',
      });
    }
    try {
      const parts = segments(url.pathname);
      const route = `${req.method} ${parts.map((p, i) => (i % 2 === 1 ? ':' : p)).join('/')}`;
      switch (route) {
        case 'GET nodes':
          return sendJson(res, 200, await this.nodes());
        case 'GET rooms/:':
          return sendJson(res, 200, await this.room(room(parts[1]!)));
        case 'POST rooms/:/events':
          return sendJson(
            res,
            200,
            await this.publish(room(parts[1]!), await readJsonBody(req, publishBody)),
          );
        case 'POST users/:/revoke':
          return await this.revoke(res, parts[1]!, await readJsonBody(req, revokeBody));
        default: {
          const endpoint = this.endpoints.get(route);
          if (endpoint)
            return await endpoint(
              req,
              res,
              parts.filter((_, i) => i % 2 === 1),
              url,
            );
          return sendJson(res, 404, { error: `no admin endpoint ${req.method} ${url.pathname}` });
        }
      }
    } catch (err) {
      if (err instanceof BadRequest) return sendJson(res, err.status, { error: err.message });
      if (err instanceof SwarmError) {
        return sendJson(res, STATUS[err.code] ?? 500, { error: err.message, code: err.code });
      }
      throw err;
    }
  }

  /** Live nodes from the registry, with this node's own figures fresh rather than a heartbeat old. */
  private async nodes(): Promise<{ self: string; nodes: Array<NodeInfo & { self: boolean }> }> {
    const node = this.node;
    const live = await node.backend.nodes.live();
    const self: NodeInfo = {
      ...live.find((info) => info.id === node.id),
      id: node.id,
      startedAt: live.find((info) => info.id === node.id)?.startedAt ?? this.startedAt,
      connections: node.connections.size,
      rooms: node.hub.size,
    };
    const nodes = [self, ...live.filter((info) => info.id !== node.id)]
      .map((info) => ({ ...info, self: info.id === node.id }))
      .sort((a, b) => a.id.localeCompare(b.id));
    return { self: node.id, nodes };
  }

  private async room(name: string): Promise<Record<string, unknown>> {
    const { backend } = this.node;
    const streams = this.node.registry.streams();
    const [members, heads] = await Promise.all([
      backend.members.list(name),
      Promise.all(streams.map((stream) => backend.history.head(name, stream))),
    ]);
    const byNode: Record<string, Array<{ conn: string; user: string }>> = {};
    for (const { node, conn, user } of members) {
      byNode[node] = [...(byNode[node] ?? []), { conn, user }];
    }
    const sections: Record<string, unknown> = {};
    for (const [section, inspect] of this.inspectors) sections[section] = await inspect(name);
    return {
      room: name,
      members: { total: members.length, byNode },
      history: Object.fromEntries(streams.map((stream, i) => [stream, heads[i]])),
      ...sections,
    };
  }

  private async publish(room: string, body: z.output<typeof publishBody>): Promise<Record<string, unknown>> {
    const definition = this.node.registry.get(body.type);
    if (!definition) throw new BadRequest(`no event type "${body.type}" is declared`);
    if (definition.scope !== 'room') {
      throw new BadRequest(
        `"${body.type}" has scope ${definition.scope}; only room-scope events go to a room`,
      );
    }
    const result = await this.node.emit(body.type, { room, data: body.data ?? {} });
    return { room, type: definition.publishAs ?? body.type, ...result.position };
  }

  private async revoke(res: ServerResponse, user: string, body: z.output<typeof revokeBody>): Promise<void> {
    if (user === '' || user.length > 256) throw new BadRequest('the user id must be 1-256 characters');
    if (!this.node.registry.get(REVOKE_EVENT)) {
      return sendJson(res, 501, {
        error: `revoking needs the "${REVOKE_EVENT}" event, which the auth module declares; it is not installed`,
      });
    }
    await revokeUser(this.node, user, body.room);
    this.node.log.info({ user, room: body.room, reason: body.reason }, 'user revoked by admin API');
    sendJson(res, 200, { user, room: body.room, revoked: true });
  }
}

/** The path after /api/, split before decoding so that a room name with an encoded "/" stays one segment. */
function segments(pathname: string): string[] {
  try {
    return pathname.split('/').slice(2).map(decodeURIComponent);
  } catch {
    throw new BadRequest('the path is not valid percent-encoding');
  }
}

function room(name: string): string {
  const parsed = roomName.safeParse(name);
  if (!parsed.success) throw new BadRequest('the room name must be 1-200 characters');
  return parsed.data;
}

export interface AdminOptions {
  /** Sections of GET /api/rooms/<room> from other modules, by name (`yjs`: the Yjs log size). */
  readonly inspectors?: Readonly<Record<string, RoomInspector>>;
  /** Endpoints of other modules, by route (`GET storage/rooms`); read when the API installs. */
  readonly endpoints?: () => Readonly<Record<string, AdminEndpoint>>;
}

/** The admin API as an extension; without a token it installs nothing, so /api/ is a 404. */
export function adminExtension(
  token: string | undefined,
  options: AdminOptions = {},
): Extension & { api?: AdminApi } {
  const extension: Extension & { api?: AdminApi } = {
    name: 'admin',
    install(node) {
      if (!token) return;
      extension.api = new AdminApi(node, token);
      for (const [section, inspect] of Object.entries(options.inspectors ?? {})) {
        extension.api.addRoomInspector(section, inspect);
      }
      for (const [route, endpoint] of Object.entries(options.endpoints?.() ?? {})) {
        extension.api.addEndpoint(route, endpoint);
      }
      extension.api.install();
      node.log.info('admin API on /api/ (bearer token)');
    },
  };
  return extension;
}
