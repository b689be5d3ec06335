import { createBackend } from './backend';
import { loadConfig } from './core/config';
import { ConfigError } from './core/errors';
import { createLogger } from './core/log';
import { defaultExtensions } from './extensions';
import { handlers } from './modules/handlers';
import { SwarmNode } from './node';

/** `npm start` / `yarn dev`: one node from the environment, drained on SIGTERM and SIGINT. */
export async function main(): Promise<SwarmNode> {
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
  await node.start();
  return node;
}

/** main(), with a failure to start turned into a message and an exit code. */
export function runMain(): Promise<SwarmNode> {
  return main().catch((err: unknown): never => {
    // A port that is taken (or a HOST that is not ours) is the operator's to fix: one line.
    if (err instanceof ConfigError) {
      process.stderr.write(`swarmcast: cannot start: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`swarmcast: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}

if (require.main === module) void runMain();
