/**
 * Type-level test: compiled by `tsc` with the rest (npm test, npm run lint), never run.
 * Every `@ts-expect-error` fails the build when the line it marks compiles, so the
 * client's types are checked in both directions: right uses compile, wrong ones do not.
 */
import { connect, type RequestAnswer, type RoomEventData } from '../../src/client';
import type { appEvents } from './typed-app-events';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}

export async function typeChecks(): Promise<void> {
  const client = connect<typeof appEvents>({ url: 'ws://127.0.0.1:1/events', WebSocket: undefined });
  const room = client.join('lobby');

  // A room event: its ack is its offset; members get the handler's answer.
  const ack = await room.emit('chat.message', { text: 'hi' });
  assertType<Equal<typeof ack, { readonly offset: number }>>();
  room.on('chat.message', (data) => {
    assertType<Equal<typeof data, { text: string; at: number }>>();
  });
  // @ts-expect-error the data must match the schema's input
  await room.emit('chat.message', { body: 'hi' });
  // @ts-expect-error no such event type is declared
  await room.emit('chat.mesage', { text: 'hi' });
  // @ts-expect-error server-only events cannot be sent by clients
  await room.emit('server.notice', { text: 'x' });
  room.on('server.notice', (data) => assertType<Equal<typeof data, { text: string }>>());

  // publishAs renames what members get; without a handler they get the parsed data.
  room.on('cursor.moved', (data) => assertType<Equal<typeof data, { x: number; y: number }>>());
  // @ts-expect-error members get cursor.moved, never cursor.move
  room.on('cursor.move', () => {});

  // A local event: the ack is the handler's answer.
  const roll = await client.request('dice.roll', { sides: 6 });
  assertType<Equal<typeof roll, { value: number; sides: number }>>();
  // @ts-expect-error sides is a number
  await client.request('dice.roll', { sides: 'six' });

  // Built-in events are typed without any definitions.
  const info = await client.request('node.info', {});
  assertType<Equal<typeof info.node, string>>();
  room.on('room.member.joined', (member) => assertType<Equal<typeof member.conn, string>>());
  assertType<Equal<RequestAnswer<typeof appEvents, 'room.state.set'>, { readonly offset: number }>>();
  assertType<Equal<RoomEventData<typeof appEvents, 'room.state.changed'>['key'], string>>();

  // Without definitions any type goes, with unknown data.
  const loose = connect({ url: 'ws://127.0.0.1:1/events' });
  const anything = await loose.join('lobby').emit('whatever.type', { any: 'thing' });
  assertType<Equal<typeof anything, unknown>>();
}
