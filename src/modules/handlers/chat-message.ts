import { z } from 'zod';
import { defineEvent } from '../../core/events/event-definition';

/**
 * The example of a user-defined event type: a chat line for everyone in the room.
 * Room scope: it is appended to the room's history (so late joiners with `since`
 * get it) and delivered to every member on every node.
 */
export const chatMessage = defineEvent({
  type: 'chat.message',
  scope: 'room',
  access: 'write',
  data: z.object({ text: z.string().trim().min(1).max(4000) }),
  handle(ctx) {
    // Whatever the handler returns is what members receive; here, the trimmed text and a timestamp.
    return { text: ctx.data.text, at: Date.now() };
  },
});
