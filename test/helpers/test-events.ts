import { z } from 'zod';
import { defineEvent } from '../../src/core/events/event-definition';

/** A handler that always throws, to check that a failing handler hurts no one else. */
export const boom = defineEvent({
  type: 'test.boom',
  scope: 'local',
  access: 'connect',
  data: z.object({}),
  handle() {
    throw new Error('boom');
  },
});

/** Node ids on which the cluster-scope `test.ping` handler ran, per ping tag. */
export const pings = new Map<string, string[]>();

export const ping = defineEvent({
  type: 'test.ping',
  scope: 'cluster',
  access: 'connect',
  data: z.object({ tag: z.string() }),
  handle(ctx) {
    const seen = pings.get(ctx.data.tag) ?? [];
    seen.push(ctx.node.id);
    pings.set(ctx.data.tag, seen);
  },
});

/** A room event kept in a stream of its own (`moves`), as an app's event definition may declare. */
export const move = defineEvent({
  type: 'test.move',
  scope: 'room',
  access: 'write',
  stream: 'moves',
  data: z.object({ to: z.number() }),
});
