import { DEFAULT_STREAM, type StreamName } from './event';
import type { AnyEventDefinition } from './event-definition';

/** Frame types the server itself sends; no event may take these names. */
export const RESERVED_TYPES = new Set(['welcome', 'ack', 'error']);
const TYPE_PATTERN = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;

/** The declared event types of a node: built-in ones and the user's, declared alike. */
export class EventRegistry {
  private readonly definitions = new Map<string, AnyEventDefinition>();

  constructor(definitions: Iterable<AnyEventDefinition> = []) {
    for (const definition of definitions) this.register(definition);
  }

  register(definition: AnyEventDefinition): this {
    const { type } = definition;
    if (!TYPE_PATTERN.test(type) || RESERVED_TYPES.has(type)) {
      throw new Error(`event type "${type}" is not a valid name (lowercase, dot-separated, not reserved)`);
    }
    if (this.definitions.has(type)) throw new Error(`event type "${type}" is declared twice`);
    if (definition.scope !== 'room' && (definition.stream !== undefined || definition.publishAs)) {
      throw new Error(`event type "${type}": stream and publishAs only apply to room scope`);
    }
    this.definitions.set(type, definition);
    return this;
  }

  get(type: string): AnyEventDefinition | undefined {
    return this.definitions.get(type);
  }

  list(): AnyEventDefinition[] {
    return [...this.definitions.values()];
  }

  /** The room streams the declared room events go to: what a room reads the heads of. */
  streams(): StreamName[] {
    const streams = new Set<StreamName>([DEFAULT_STREAM]);
    for (const definition of this.definitions.values()) {
      if (definition.scope === 'room' && definition.stream) streams.add(definition.stream);
    }
    return [...streams];
  }
}
