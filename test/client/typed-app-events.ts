import { z } from 'zod';
import { defineEvent } from '../../src/core/events/event-definition';
import { chatMessage } from '../../src/modules/handlers/chat-message';

/** A local-scope event with an answer, as an app would declare one. */
export const diceRoll = defineEvent({
  type: 'dice.roll',
  scope: 'local',
  access: 'connect',
  data: z.object({ sides: z.number().int().min(2).max(100) }),
  handle: (ctx) => ({ value: 1 + Math.floor(Math.random() * ctx.data.sides), sides: ctx.data.sides }),
});

/** A room event published under another name, without a handler: members get the parsed data. */
export const cursorMove = defineEvent({
  type: 'cursor.move',
  scope: 'room',
  access: 'write',
  publishAs: 'cursor.moved',
  stream: null,
  data: z.object({ x: z.number(), y: z.number() }),
});

/** An event only server code may emit: a client cannot send it. */
export const serverNotice = defineEvent({
  type: 'server.notice',
  scope: 'room',
  access: 'server',
  data: z.object({ text: z.string() }),
});

export const appEvents = [chatMessage, diceRoll, cursorMove, serverNotice];
