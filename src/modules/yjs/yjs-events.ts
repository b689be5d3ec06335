import { z } from 'zod';
import type { AwarenessEntry, AwarenessStore } from '../../backend/awareness-store';
import { DOCUMENT_STREAM } from '../../backend/document-store';
import { type AnyEventDefinition, defineEvent } from '../../core/events/event-definition';
import { decodeAwarenessUpdate, isValidUpdate } from './yjs-codec';

export const YJS_UPDATE = 'yjs.update';
export const YJS_AWARENESS = 'yjs.awareness';

/** A Yjs update that Yjs itself accepts; anything else never reaches a room's log. */
const update = z.instanceof(Uint8Array).refine(isValidUpdate, { message: 'not a Yjs update' });

const awarenessUpdate = z.instanceof(Uint8Array).refine(
  (bytes) => {
    try {
      decodeAwarenessUpdate(bytes);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not an awareness update' },
);

/**
 * The Yjs protocol as typed events, routed like JSON events. `yjs.update` is appended to
 * the room's document stream (so it gets an offset and goes through the sequencer's gap
 * repair) and then fanned out; `yjs.awareness` is ephemeral (no stream) but its latest
 * state per client is kept in the store for new joiners on any node.
 */
export function yjsEvents(awareness: AwarenessStore): AnyEventDefinition[] {
  return [
    defineEvent({
      type: YJS_UPDATE,
      scope: 'room',
      access: 'write',
      stream: DOCUMENT_STREAM,
      description: 'A Yjs document update (binary), appended to the room’s update log.',
      data: update,
    }),
    defineEvent({
      type: YJS_AWARENESS,
      scope: 'room',
      access: 'read',
      stream: null,
      description: 'A y-protocols awareness update (binary): cursors, names, presence.',
      data: awarenessUpdate,
      async handle(ctx) {
        const { room } = ctx;
        const now = Date.now();
        const put: AwarenessEntry[] = [];
        const removed: number[] = [];
        for (const state of decodeAwarenessUpdate(ctx.data)) {
          if (state.state === 'null') removed.push(state.client);
          else put.push({ ...state, node: ctx.from.node, conn: ctx.from.conn, updatedAt: now });
        }
        if (put.length > 0) await awareness.put(room, put);
        if (removed.length > 0) await awareness.remove(room, removed);
      },
    }),
  ];
}
