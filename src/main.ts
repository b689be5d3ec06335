import { createBackend } from './backend';
import { loadConfig } from './config';
import { ConfigError } from './errors';
import { defaultExtensions } from './extensions';
import { handlers } from './handlers';
import { createLogger } from './log';
import { SwarmNode } from './node';

/** `npm start` / `yarn dev`: one node from the environment, drained on SIGTERM and SIGINT. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`swarmcast: bad configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, config.nodeId);
  const backend = createBackend(config, log);
  const node = new SwarmNode({ config, backend, handlers, log, extensions: defaultExtensions(config, log) });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'signal received');
    // The drain has its own deadline; this one only guards against a drain that hangs.
    setTimeout(() => process.exit(0), config.drainTimeoutMs + 2000).unref();
    void node.drain().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    await node.start();
  } catch (err) {
    // A store that cannot be opened (DATABASE_URL, DATA_DIR) is found only at start.
    if (err instanceof ConfigError) {
      process.stderr.write(`swarmcast: bad configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`swarmcast: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
