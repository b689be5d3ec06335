/**
 * Preloaded (`node --expose-gc --require`) into every server process the bench starts, ours
 * and the peers alike, so that memory is measured the same way everywhere without touching
 * any server's code: on `{type: 'memory'}` over the IPC channel it runs a full GC and answers
 * with `process.memoryUsage()`, read a moment after the GC (V8 returns freed pages from a
 * background thread: read at once, RSS still counted them, 8 KB of a connection's 38 in one
 * probe of 1,000 idle Yjs connections). It also ends the process when the bench goes away, so that a
 * killed bench leaves no server behind.
 */
import { writeHeapSnapshot } from 'node:v8';

/** How long freed pages are given to leave the process before its memory is read. */
const RELEASE_MS = 300;

if (process.send) {
  process.on('message', async (message: { type?: string; id?: number; file?: string }) => {
    if (message?.type === 'heap-snapshot' && message.file) {
      // For finding what a server holds: `--heap-snapshots DIR` asks for one after each memory reading.
      writeHeapSnapshot(message.file);
      process.send?.({ type: 'heap-snapshot', id: message.id });
      return;
    }
    if (message?.type !== 'memory') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    // Two passes: the first can leave objects that only become garbage after finalizers ran.
    gc?.();
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, RELEASE_MS));
    gc?.();
    const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
    process.send?.({ type: 'memory', id: message.id, memory: { rss, heapUsed, external, arrayBuffers } });
  });
  process.on('disconnect', () => process.exit(0));
  // The IPC channel must not keep a server alive on its own once it has shut down.
  process.channel?.unref();
}
