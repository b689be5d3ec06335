/**
 * A node that breaks its promise on purpose, for the checker's own test: it runs
 * `dist/src/main.js` with `JsonConnection.deliver` wrapped so that every room event whose
 * offset is 500 past a multiple of 1000 (one in a thousand) is dropped, sent twice, or sent
 * after the event that follows it, as `CHAOS_FAULT` says. Each fault it commits is written
 * to `CHAOS_INJECTED_FILE`, one JSON line, so the test knows the counts the checker must
 * report. Only the chaos harness starts this file; nothing under src/ knows it exists.
 */
import { appendFileSync } from 'node:fs';
import type { Event } from '../../src/core/events/event';
import { runMain } from '../../src/main';
import { JsonConnection } from '../../src/modules/json/json-connection';

export type InjectedFault = 'drop' | 'repeat' | 'reorder';

const EVERY = 1000;
/** 500 rather than 0 so that a run of a minute, whose rooms pass offset 500, sees one. */
const AT = 500;
/** A held event goes out in order after this long alone: that is then no fault, and not counted. */
const HOLD_MS = 2000;

const mode = process.env.CHAOS_FAULT as InjectedFault | undefined;
const file = process.env.CHAOS_INJECTED_FILE;
if (mode !== 'drop' && mode !== 'repeat' && mode !== 'reorder') {
  throw new Error(`CHAOS_FAULT must be drop, repeat or reorder, not ${JSON.stringify(mode)}`);
}
if (!file) throw new Error('CHAOS_INJECTED_FILE must name the file the injected faults go to');

function chosen(event: Event): boolean {
  return event.type === 'chat.message' && event.offset !== undefined && event.offset % EVERY === AT;
}

function record(event: Event): void {
  appendFileSync(
    file!,
    `${JSON.stringify({ chaosInjected: mode, room: event.room, offset: event.offset })}\n`,
  );
}

const deliver = JsonConnection.prototype.deliver;
const held = new WeakMap<JsonConnection, { event: Event; timer: NodeJS.Timeout }>();

JsonConnection.prototype.deliver = function faultyDeliver(this: JsonConnection, event: Event): void {
  const waiting = held.get(this);
  if (waiting && event.type === 'chat.message' && event.room === waiting.event.room) {
    held.delete(this);
    clearTimeout(waiting.timer);
    deliver.call(this, event);
    deliver.call(this, waiting.event);
    record(waiting.event);
    return;
  }
  if (!chosen(event)) {
    deliver.call(this, event);
    return;
  }
  switch (mode) {
    case 'drop':
      record(event);
      return;
    case 'repeat':
      deliver.call(this, event);
      deliver.call(this, event);
      record(event);
      return;
    case 'reorder': {
      const timer = setTimeout(() => {
        held.delete(this);
        deliver.call(this, event);
      }, HOLD_MS);
      held.set(this, { event, timer });
      return;
    }
  }
};

void runMain();
