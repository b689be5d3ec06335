import type { Logger } from '../core/log';

/**
 * Runs `drain` on the first of `signals`. Listening for a signal takes away its default
 * action (ending the process), so once the drain is done a signal nobody else listens for
 * is raised again with that action back; an app with its own listener decides when to exit.
 * Returns what stops listening.
 */
export function drainOnSignals(
  signals: readonly NodeJS.Signals[],
  log: Logger,
  drain: () => Promise<void>,
): () => void {
  const stop = () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'signal received');
    void drain().finally(() => {
      stop();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  };
  for (const signal of signals) process.on(signal, onSignal);
  return stop;
}
