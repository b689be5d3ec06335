import type { Backend } from './backend';
import type { CopyCoordination } from './copy-coordination';
import { MemoryBackend } from './memory/memory-backend';
import { MemoryCopyCoordination } from './memory/memory-copy-coordination';
import { MemoryRoomRestore } from './memory/memory-room-restore';
import { RedisBackend } from './redis/redis-backend';
import { RedisCopyCoordination } from './redis/redis-copy-coordination';
import { RedisRoomRestore } from './redis/redis-room-restore';
import type { RoomRestore } from './room-restore';

/** What the storage tier needs of a backend besides its stores: copy coordination and loading rooms back. */
export interface StorageSeam {
  readonly coordination: CopyCoordination;
  readonly restore: RoomRestore;
}

/**
 * The one place that picks a backend's implementations for the storage tier (Lua scripts
 * on Redis, maps in memory). A backend of another kind needs its own pair here.
 */
export function storageSeamOf(backend: Backend): StorageSeam {
  if (backend instanceof RedisBackend) {
    return {
      coordination: new RedisCopyCoordination(backend),
      restore: new RedisRoomRestore(backend),
    };
  }
  if (backend instanceof MemoryBackend) {
    return {
      coordination: new MemoryCopyCoordination(backend.shared),
      restore: new MemoryRoomRestore(backend.shared),
    };
  }
  throw new Error(`the storage tier supports the memory and Redis backends, not "${backend.name}"`);
}
