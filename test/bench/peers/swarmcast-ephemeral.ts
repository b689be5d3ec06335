/**
 * swarmcast as an app embeds it, with one event type of the app's own: `bench.ping`, a
 * room event with `stream: null` (ephemeral: delivered live, no offset, not kept). It is
 * the option beside the default `chat.message`, which is appended to the room's history:
 * what scenario 5 measures with it is what the history costs, since socket.io keeps none.
 */
import { createServer } from 'node:http';
import { attach, defineEvent, z } from '../../../src/index';

const benchPing = defineEvent({
  type: 'bench.ping',
  scope: 'room',
  stream: null,
  access: 'write',
  data: z.object({ text: z.string().max(100) }),
});

async function main(): Promise<void> {
  const server = createServer();
  const swarm = await attach(server, {
    config: {
      redisUrl: process.env.REDIS_URL,
      nodeId: process.env.NODE_ID,
      logLevel: 'warn',
    },
    handlers: [benchPing],
    // The bench stops its servers with SIGTERM, as it stops the peers: no drain to wait for.
    drainOn: [],
  });
  server.on('request', swarm.http);
  server.listen(Number(process.env.PORT), '127.0.0.1');
}

void main();
process.on('SIGTERM', () => process.exit(0));
