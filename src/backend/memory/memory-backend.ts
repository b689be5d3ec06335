import type { Event, Position, RoomEvent, StoredEvent, StreamName } from '../../core/events/event';
import type { AwarenessStore } from '../awareness-store';
import type {
  AppendOnce,
  AppendOutcome,
  Backend,
  BackendStatus,
  Bus,
  BusListener,
  HistoryRead,
  HistoryStore,
  Member,
  MemberStore,
  NodeInfo,
  NodeRegistry,
  StateStore,
} from '../backend';
import type { CopyCoordination } from '../copy-coordination';
import type { DocumentStore } from '../document-store';
import type { RevocationStore } from '../revocation-store';
import type { RoomRestore } from '../room-restore';
import { MemoryAwarenessStore } from './memory-awareness-store';
import { MemoryCopyCoordination } from './memory-copy-coordination';
import { MemoryDocumentStore } from './memory-document-store';
import { MemoryRevocationStore } from './memory-revocation-store';
import { MemoryRoomRestore } from './memory-room-restore';
import { SharedMemory } from './shared-memory';

class MemoryBus implements Bus {
  private rooms = new Set<string>();

  constructor(
    private readonly shared: SharedMemory,
    private readonly node: string,
  ) {}

  publishRoom(event: RoomEvent, stream: StreamName): Promise<StoredEvent>;
  publishRoom(event: RoomEvent, stream: null): Promise<RoomEvent>;
  publishRoom(event: RoomEvent, stream: StreamName | null): Promise<RoomEvent | StoredEvent>;
  async publishRoom(event: RoomEvent, stream: StreamName | null): Promise<RoomEvent | StoredEvent> {
    const published = stream ? this.shared.append(event, stream) : event;
    this.shared.publishRoom(this.node, published);
    return published;
  }

  async appendOnce(event: RoomEvent, stream: StreamName, once: AppendOnce): Promise<AppendOutcome> {
    const outcome = this.shared.appendOnce(event, stream, once);
    if (!outcome.repeat) this.shared.publishRoom(this.node, outcome.event);
    return outcome;
  }

  async publishCluster(event: Event): Promise<void> {
    this.shared.publishCluster(this.node, event);
  }

  async subscribe(room: string): Promise<void> {
    this.rooms.add(room);
  }

  async unsubscribe(room: string): Promise<void> {
    this.rooms.delete(room);
  }

  listen(listener: BusListener): void {
    this.rooms = this.shared.attach(this.node, listener);
  }

  detach(): void {
    this.shared.detach(this.node);
  }
}

class MemoryHistory implements HistoryStore {
  constructor(private readonly shared: SharedMemory) {}

  async head(room: string, stream: StreamName): Promise<Position> {
    return this.shared.head(room, stream);
  }

  async read(
    room: string,
    stream: StreamName,
    after: number,
    epoch?: string,
    limit = 1000,
  ): Promise<HistoryRead> {
    return this.shared.readHistory(room, stream, after, epoch, limit);
  }
}

class MemoryMembers implements MemberStore {
  constructor(private readonly shared: SharedMemory) {}

  async add(room: string, member: Member): Promise<void> {
    let members = this.shared.members.get(room);
    if (!members) {
      members = new Map();
      this.shared.members.set(room, members);
    }
    members.set(member.conn, member);
  }

  async remove(room: string, conn: string): Promise<boolean> {
    const members = this.shared.members.get(room);
    const removed = members?.delete(conn) ?? false;
    if (members?.size === 0) this.shared.members.delete(room);
    return removed;
  }

  async list(room: string): Promise<Member[]> {
    return [...(this.shared.members.get(room)?.values() ?? [])];
  }

  async removeNode(node: string): Promise<Array<{ room: string; member: Member }>> {
    const removed: Array<{ room: string; member: Member }> = [];
    for (const [room, members] of this.shared.members) {
      for (const member of members.values()) {
        if (member.node !== node) continue;
        members.delete(member.conn);
        removed.push({ room, member });
      }
      if (members.size === 0) this.shared.members.delete(room);
    }
    return removed;
  }
}

class MemoryState implements StateStore {
  constructor(private readonly shared: SharedMemory) {}

  async get(room: string, key: string): Promise<unknown> {
    return structuredClone(this.shared.state.get(room)?.get(key));
  }

  async set(room: string, key: string, value: unknown): Promise<void> {
    let state = this.shared.state.get(room);
    if (!state) {
      state = new Map();
      this.shared.state.set(room, state);
    }
    if (value === null) state.delete(key);
    else state.set(key, structuredClone(value));
  }

  async all(room: string): Promise<Record<string, unknown>> {
    return structuredClone(Object.fromEntries(this.shared.state.get(room) ?? []));
  }
}

class MemoryNodes implements NodeRegistry {
  constructor(private readonly shared: SharedMemory) {}

  async heartbeat(info: NodeInfo, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const alive = (this.shared.nodes.get(info.id)?.expiresAt ?? 0) > now;
    this.shared.nodes.set(info.id, { info, expiresAt: now + ttlMs });
    this.shared.known.add(info.id);
    return alive;
  }

  async live(): Promise<NodeInfo[]> {
    const now = Date.now();
    return [...this.shared.nodes.values()].filter((n) => n.expiresAt > now).map((n) => n.info);
  }

  async dead(): Promise<string[]> {
    const now = Date.now();
    const nodes = new Set<string>(this.shared.known);
    for (const members of this.shared.members.values()) for (const m of members.values()) nodes.add(m.node);
    return [...nodes].filter((id) => (this.shared.nodes.get(id)?.expiresAt ?? 0) <= now);
  }

  async remove(node: string): Promise<void> {
    this.shared.nodes.delete(node);
    // As in Redis: gone from the registry unless members are still listed for a reaper.
    for (const members of this.shared.members.values()) {
      for (const member of members.values()) if (member.node === node) return;
    }
    this.shared.known.delete(node);
  }

  async claim(node: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    if ((this.shared.claims.get(node) ?? 0) > now) return false;
    this.shared.claims.set(node, now + ttlMs);
    return true;
  }

  async forget(node: string): Promise<void> {
    this.shared.known.delete(node);
  }
}

/**
 * The embedded backend: no Redis, everything in this process. One node on its own,
 * or several nodes of one process sharing a SharedMemory (tests).
 */
export class MemoryBackend implements Backend {
  readonly name = 'memory';
  readonly summary = 'embedded single-node backend (no REDIS_URL set)';
  readonly bus: MemoryBus;
  readonly history: HistoryStore;
  readonly members: MemberStore;
  readonly state: StateStore;
  readonly nodes: NodeRegistry;
  readonly documents: DocumentStore;
  readonly awareness: AwarenessStore;
  readonly revocations: RevocationStore;
  readonly copies: CopyCoordination;
  readonly restore: RoomRestore;

  constructor(
    node: string,
    readonly shared: SharedMemory = new SharedMemory(1000),
  ) {
    this.bus = new MemoryBus(shared, node);
    this.history = new MemoryHistory(shared);
    this.members = new MemoryMembers(shared);
    this.state = new MemoryState(shared);
    this.nodes = new MemoryNodes(shared);
    this.documents = new MemoryDocumentStore(shared);
    this.awareness = new MemoryAwarenessStore(shared);
    this.revocations = new MemoryRevocationStore(shared);
    this.copies = new MemoryCopyCoordination(shared);
    this.restore = new MemoryRoomRestore(shared);
  }

  status(): BackendStatus {
    return 'up';
  }

  onStatus(_listener: (status: BackendStatus) => void): void {
    // Memory never goes down.
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.bus.detach();
  }
}
