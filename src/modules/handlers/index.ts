import type { AnyEventDefinition } from '../../core/events/event-definition';
import { chatMessage } from './chat-message';

/**
 * The application's own event types. Add one line per new handler file. The list keeps
 * each definition's type, so clients can be typed from it (`connect<typeof handlers>`).
 */
export const handlers = [chatMessage] satisfies AnyEventDefinition[];
