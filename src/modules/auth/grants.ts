import type { RoomGrants } from '../../core/connection';
import type { Access } from '../../core/events/event-definition';

export type RoomAccess = 'read' | 'write';

interface CompiledPattern {
  readonly pattern: RegExp;
  /** Characters outside the `*`s: the longer, the more specific the pattern. */
  readonly literal: number;
  readonly access: RoomAccess;
}

interface CompiledGrants {
  readonly exact: ReadonlyMap<string, RoomAccess>;
  readonly patterns: readonly CompiledPattern[];
}

/** Grants objects are compiled once, however many checks a connection makes. */
const compiled = new WeakMap<RoomGrants, CompiledGrants>();

function compile(grants: RoomGrants): CompiledGrants {
  let result = compiled.get(grants);
  if (result) return result;
  const exact = new Map<string, RoomAccess>();
  const patterns: CompiledPattern[] = [];
  for (const [name, access] of Object.entries(grants)) {
    if (!name.includes('*')) {
      exact.set(name, access);
      continue;
    }
    const source = name
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    patterns.push({
      pattern: new RegExp(`^${source}$`, 's'),
      literal: name.replace(/\*/g, '').length,
      access,
    });
  }
  // Most specific first; between equally specific patterns, the higher access.
  patterns.sort((a, b) => b.literal - a.literal || rank(b.access) - rank(a.access));
  result = { exact, patterns };
  compiled.set(grants, result);
  return result;
}

function rank(access: RoomAccess): number {
  return access === 'write' ? 2 : 1;
}

/**
 * The access `grants` give to `room`: an exact name wins over patterns; among patterns
 * (`*` matches any run of characters, including none), the one with the most literal
 * characters wins, so `{"doc-*": "write", "doc-secret-*": "read"}` makes doc-secret-1
 * read-only.
 */
export function accessTo(grants: RoomGrants, room: string): RoomAccess | undefined {
  const { exact, patterns } = compile(grants);
  const named = exact.get(room);
  if (named) return named;
  return patterns.find((p) => p.pattern.test(room))?.access;
}

/** Whether holding `held` satisfies an event's `needed` access. `write` includes `read`. */
export function satisfies(held: RoomAccess | undefined, needed: Access): boolean {
  switch (needed) {
    case 'connect':
      return true;
    case 'read':
      return held !== undefined;
    case 'write':
      return held === 'write';
    case 'server':
      return false;
  }
}
