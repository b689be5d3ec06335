/**
 * Every Redis key and channel name swarmcast uses, in one place (docs/redis.md lists
 * them). All keys of one room carry the room's hash tag, so a room lives on one Redis
 * Cluster slot and the multi-key scripts stay legal there.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /**
   * The hash tag of a room. Braces and `%` are escaped so that a room name with a `}`
   * cannot end the tag early and land two rooms' keys on different slots.
   */
  tag(room: string): string {
    return `{${room.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}}`;
  }

  /** The room's pub/sub channel: every room-scope event, durable or ephemeral. */
  roomChannel(room: string): string {
    return `${this.prefix}:room:${this.tag(room)}`;
  }

  /** The cluster-scope channel every node subscribes to. */
  clusterChannel(): string {
    return `${this.prefix}:cluster`;
  }

  /** A Redis stream: the room stream's entries, with ids `<offset>-0`. */
  log(room: string, stream: string): string {
    return `${this.prefix}:room:${this.tag(room)}:${stream}:log`;
  }

  /** The last offset handed out in a room stream (INCR). */
  seq(room: string, stream: string): string {
    return `${this.prefix}:room:${this.tag(room)}:${stream}:seq`;
  }

  /** The room stream's epoch: a random id set when the stream is first written. */
  epoch(room: string, stream: string): string {
    return `${this.prefix}:room:${this.tag(room)}:${stream}:epoch`;
  }

  /**
   * Hash idempotency key -> `<offset> <epoch> <answer JSON>`: the recent appends to a room
   * stream that came with a client `id` (docs/redis.md, "Idempotent appends").
   */
  ids(room: string, stream: string): string {
    return `${this.prefix}:room:${this.tag(room)}:${stream}:ids`;
  }

  /** Sorted set idempotency key -> Unix ms until which a repeat of it is one: the `ids` hash's expiry. */
  idsUntil(room: string, stream: string): string {
    return `${this.prefix}:room:${this.tag(room)}:${stream}:ids:until`;
  }

  /** Hash conn -> JSON member. */
  members(room: string): string {
    return `${this.prefix}:room:${this.tag(room)}:members`;
  }

  /** Hash key -> JSON value. */
  state(room: string): string {
    return `${this.prefix}:room:${this.tag(room)}:state`;
  }

  /** The Yjs snapshot of a room: a hash with `update` (bytes) and `offset` (what it covers). */
  yjsSnapshot(room: string): string {
    return `${this.prefix}:room:${this.tag(room)}:yjs:snapshot`;
  }

  /** The compaction lock of a room's Yjs log. */
  yjsLock(room: string): string {
    return `${this.prefix}:room:${this.tag(room)}:yjs:lock`;
  }

  /** Hash clientID -> encoded awareness entry, for new joiners on any node. */
  awareness(room: string): string {
    return `${this.prefix}:room:${this.tag(room)}:awareness`;
  }

  /** Set of rooms in which a node's Yjs clients have awareness states, so a dead node's can be removed. */
  yjsNodeRooms(node: string): string {
    return `${this.prefix}:node:${node}:yjs-rooms`;
  }

  /** A node's heartbeat (expires when the node stops renewing it). */
  node(node: string): string {
    return `${this.prefix}:node:${node}`;
  }

  /** Set of node ids that have registered, alive or not: the reaper's work list. */
  nodeIndex(): string {
    return `${this.prefix}:nodes`;
  }

  /**
   * Hash room -> number of the node's members there: the rooms in which a node has
   * members, so a dead node's members can be found without a scan.
   */
  nodeRooms(node: string): string {
    return `${this.nodePrefix()}${node}:rooms`;
  }

  /** What every node key starts with (the member-removal script builds nodeRooms from it). */
  nodePrefix(): string {
    return `${this.prefix}:node:`;
  }

  /** Hash `JSON [user, room|null]` -> Unix seconds: recent revocations, read by nodes at start. */
  revocations(): string {
    return `${this.prefix}:revocations`;
  }

  /** Lock taken by the node that cleans up after a dead one. */
  reaperLock(node: string): string {
    return `${this.prefix}:node:${node}:reaping`;
  }
}
