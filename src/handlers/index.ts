import type { AnyEventDefinition } from '../events/event-definition';
import { chatMessage } from './chat-message';

/** The application's own event types. Add one line per new handler file. */
export const handlers: AnyEventDefinition[] = [chatMessage];
