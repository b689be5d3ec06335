import type { AnyEventDefinition } from '../event-definition';
import { nodeInfo } from './node';
import { roomJoin, roomLeave, roomMemberJoined, roomMemberLeft, roomStateSet } from './room';

/** The event types every node has, declared like user-defined ones. */
export const builtinEvents: AnyEventDefinition[] = [
  roomJoin,
  roomLeave,
  roomMemberJoined,
  roomMemberLeft,
  roomStateSet,
  nodeInfo,
];
