import WebSocket from 'ws';
import {
  type ClientState,
  type ConnectOptions,
  connect,
  type EventList,
  type EventMeta,
  type Room,
  type SwarmClient,
} from '../../src/client';
import { waitFor } from './wait';

/** The clients (of the client library) one test file opened, so that its `after` closes them all. */
export class LibraryClients {
  private readonly clients: SwarmClient<EventList>[] = [];

  /** Connects with `ws` (Node 20 has no global WebSocket) and a quick first retry. */
  open<L extends EventList = EventList>(options: ConnectOptions): SwarmClient<L> {
    const client = connect<L>({ WebSocket, backoff: { initialMs: 50, maxMs: 1000 }, ...options });
    this.clients.push(client as unknown as SwarmClient<EventList>);
    return client;
  }

  closeAll(): void {
    for (const client of this.clients.splice(0)) client.close();
  }
}

/** Waits until the client's state has this status; resolves with that state. */
export function untilStatus<S extends ClientState['status']>(
  client: SwarmClient<EventList>,
  status: S,
  timeoutMs = 10_000,
): Promise<Extract<ClientState, { status: S }>> {
  return waitFor(
    () =>
      client.state.status === status ? (client.state as Extract<ClientState, { status: S }>) : undefined,
    `client ${status}`,
    timeoutMs,
  );
}

/** Every state a client went through, in order. */
export function recordStates(client: SwarmClient<EventList>): ClientState[] {
  const states: ClientState[] = [client.state];
  client.onState((state) => states.push(state));
  return states;
}

export interface Seen {
  readonly type: string;
  readonly data: unknown;
  readonly meta: EventMeta;
}

/** Records what the app is handed of each of `types` in a room, in the order it was handed. */
export function recordEvents(room: Room<EventList>, types: readonly string[]): Seen[] {
  const seen: Seen[] = [];
  for (const type of types) room.on(type, (data, meta) => seen.push({ type, data, meta }));
  return seen;
}

/** The offsets in `seen`, and whether they strictly increase by one (each event once, in order, none missed). */
export function offsetsOf(seen: readonly Seen[]): { offsets: number[]; contiguous: boolean } {
  const offsets = seen.map((s) => s.meta.offset).filter((o): o is number => o !== undefined);
  const contiguous = offsets.every((offset, i) => i === 0 || offset === offsets[i - 1]! + 1);
  return { offsets, contiguous };
}
