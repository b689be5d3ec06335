import assert from 'node:assert/strict';
import { type Frame, type JsonClient, RequestError } from './client';
import { waitFor } from './wait';

/**
 * Sends numbered chat messages one after another until stopped, retrying a message that
 * Redis could not take (`unavailable`). Records the texts the server acknowledged, in order.
 */
export function steadyWriter(client: JsonClient, room: string) {
  const acked: string[] = [];
  const refused: string[] = [];
  let stopped = false;
  const done = (async () => {
    for (let n = 0; !stopped; n++) {
      const text = `m${n}`;
      for (;;) {
        try {
          await client.request('chat.message', { room, data: { text } });
          acked.push(text);
          break;
        } catch (err) {
          if (!(err instanceof RequestError) || err.frame.code !== 'unavailable') throw err;
          refused.push(text);
          if (stopped) return;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    }
  })();
  return {
    acked,
    refused,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

export function texts(frames: Frame[]): string[] {
  return frames.map((f) => (f.data as { text: string }).text);
}

/** Every acknowledged message reached the member once, in the order it was acknowledged. */
export async function assertReceivedAll(member: JsonClient, room: string, acked: string[]): Promise<void> {
  const ackedSet = new Set(acked);
  await waitFor(
    () => texts(member.events(room, 'chat.message')).filter((t) => ackedSet.has(t)).length >= acked.length,
    `all ${acked.length} acknowledged messages at a member`,
    15_000,
  );
  // A message refused with `unavailable` may still have been stored (Redis ran the script
  // and went away before the reply): the writer's retry then stores it again. Each copy
  // is a distinct event with its own offset; what must hold is no offset twice, and every
  // acknowledged message present, in acknowledgement order.
  const got = texts(member.events(room, 'chat.message'));
  const firstSeen = got.filter((t, i) => ackedSet.has(t) && got.indexOf(t) === i);
  assert.deepEqual(firstSeen, acked, 'every acknowledged message, in order');
  const offsets = member.events(room, 'chat.message').map((f) => f.offset!);
  assert.deepEqual(
    offsets,
    [...offsets].sort((a, b) => a - b),
    'increasing offsets',
  );
}
