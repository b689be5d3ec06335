import { z } from 'zod';
import type { NodeInfoAnswer } from '../../protocol/wire';
import { defineEvent } from '../event-definition';

export const nodeInfo = defineEvent({
  type: 'node.info',
  scope: 'local',
  access: 'connect',
  description: 'Which node serves this connection, and its load.',
  data: z.object({}),
  handle(ctx): NodeInfoAnswer {
    return {
      node: ctx.node.id,
      backend: ctx.node.backend.name,
      connections: ctx.node.connections.size,
      rooms: ctx.node.hub.size,
    };
  },
});
