import type { BuiltinRequests, BuiltinRoomEvents, RoomEventAck } from '../core/protocol/wire';

/**
 * The part of an event definition (`defineEvent`, src/core/events/event.ts) the client reads.
 * Structural, so that the client's build and declarations hold no server code: an app
 * passes `typeof itsDefinitions` and only types cross over. `data` is a zod schema.
 */
export interface EventShape {
  readonly type: string;
  readonly scope: 'local' | 'room' | 'cluster';
  readonly access: string;
  readonly data: { readonly _zod: { readonly input: unknown; readonly output: unknown } };
  readonly publishAs?: string;
  handle?(ctx: never): unknown;
}

/** What `connect<typeof definitions>()` takes: the app's list of definitions. */
export type EventList = readonly EventShape[];

type Input<D> = D extends { data: { _zod: { input: infer I } } } ? I : unknown;
type Output<D> = D extends { data: { _zod: { output: infer O } } } ? O : unknown;
type Returned<D> = D extends { handle?(ctx: never): infer R } ? Awaited<R> : undefined;
/** What the handler returns when it returns something. */
type Answer<D> = Exclude<Returned<D>, undefined>;

/** The ack's data: a room event's place, `{}` for cluster events, the handler's answer for local ones. */
type AckOf<D extends EventShape> = string extends D['type']
  ? unknown
  : D['scope'] extends 'room'
    ? RoomEventAck
    : D['scope'] extends 'cluster'
      ? Record<string, never>
      : [Answer<D>] extends [never]
        ? Record<string, never>
        : Answer<D> | (undefined extends Returned<D> ? Record<string, never> : never);

/** A room event's type as members get it (`publishAs`), and its data (the handler's answer, or the input parsed). */
type PublishedName<D extends EventShape> = [NonNullable<D['publishAs']>] extends [never]
  ? D['type']
  : NonNullable<D['publishAs']>;
type PublishedData<D extends EventShape> = string extends D['type']
  ? unknown
  : [Answer<D>] extends [never]
    ? Output<D>
    : Answer<D> | (undefined extends Returned<D> ? Output<D> : never);

type Sendable<D> = D extends { access: 'server' } ? never : D;

type AppRequestData<L extends EventList> = {
  [D in Sendable<L[number]> as D['type']]: Input<D>;
};
type AppRequestAnswer<L extends EventList> = {
  [D in Sendable<L[number]> as D['type']]: AckOf<D>;
};
/** Without definitions (`connect()` untyped), any type with unknown data. */
type AppRoomEvents<L extends EventList> = string extends L[number]['type']
  ? Record<string, unknown>
  : { [D in Extract<L[number], { scope: 'room' }> as PublishedName<D>]: PublishedData<D> };

/** Every event type a client may send: the built-in ones and the app's. */
export type RequestType<L extends EventList> = (keyof BuiltinRequests | keyof AppRequestData<L>) & string;

/** The data a client sends with an event of type `K`. */
export type RequestData<L extends EventList, K extends string> = K extends keyof BuiltinRequests
  ? BuiltinRequests[K]['data']
  : K extends keyof AppRequestData<L>
    ? AppRequestData<L>[K]
    : never;

/** The data of the ack that answers an event of type `K`. */
export type RequestAnswer<L extends EventList, K extends string> = K extends keyof BuiltinRequests
  ? BuiltinRequests[K]['answer']
  : K extends keyof AppRequestAnswer<L>
    ? AppRequestAnswer<L>[K]
    : never;

/** Every room event type members receive. */
export type RoomEventType<L extends EventList> = (keyof BuiltinRoomEvents | keyof AppRoomEvents<L>) & string;

/** The data of a room event of type `K`. */
export type RoomEventData<L extends EventList, K extends string> = K extends keyof BuiltinRoomEvents
  ? BuiltinRoomEvents[K]
  : K extends keyof AppRoomEvents<L>
    ? AppRoomEvents<L>[K]
    : never;
