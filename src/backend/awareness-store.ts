/** The latest awareness state of one client, and where it is connected. */
export interface AwarenessEntry {
  readonly client: number;
  readonly clock: number;
  /** The state as JSON text, as the client sent it. */
  readonly state: string;
  readonly node: string;
  readonly conn?: string;
  /** Unix milliseconds of the last update, so outdated states can be dropped. */
  readonly updatedAt: number;
}

/**
 * The latest awareness (presence) state of each client of a room, kept by the node its
 * client is connected to, so the survivors can remove a dead node's states. Apart from
 * the DocumentStore as centrifuge keeps presence apart from its broker: a backend may
 * keep the two in different places.
 */
export interface AwarenessStore {
  put(room: string, entries: readonly AwarenessEntry[]): Promise<void>;
  remove(room: string, clients: readonly number[]): Promise<void>;
  /** The stored states of these clients (those that have one). */
  of(room: string, clients: readonly number[]): Promise<Map<number, AwarenessEntry>>;
  /** The room's states updated within `maxAgeMs`. */
  list(room: string, maxAgeMs: number): Promise<AwarenessEntry[]>;
  /**
   * The node's last local client of the room left (and cleared its states): the room no
   * longer needs to be visited when the node dies, so the node's room list stays short.
   */
  forgetRoom(node: string, room: string): Promise<void>;
  /** Removes every state held by a (dead) node's clients and returns them per room. */
  removeNode(node: string): Promise<Array<{ room: string; entries: AwarenessEntry[] }>>;
}
