import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleDemo } from './demo/bundle';
import { runMain } from './main';

/**
 * The process `yarn dev` (nodemon) restarts on every change: the demo bundle, then the
 * node. nodemon runs it directly (`exec` in the script), so its SIGTERM reaches the node,
 * which drains, and nodemon waits for that before it starts the next one on the same port.
 *
 * With `PORT=0` the port picked at the first start is kept for the restarts of the same
 * `yarn dev` (nodemon's process is this one's parent throughout), so open pages and
 * clients reconnect to where they were. Ctrl-C ends the session and forgets it.
 */
const rememberedPort = path.join(tmpdir(), `swarmcast-dev-${process.ppid}.port`);

function readRememberedPort(): string | undefined {
  try {
    return readFileSync(rememberedPort, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

async function dev(): Promise<void> {
  await bundleDemo();
  const anyPort = (process.env.PORT ?? process.env.SERVER_PORT) === '0';
  const remembered = anyPort ? readRememberedPort() : undefined;
  if (remembered) process.env.PORT = remembered;
  const node = await runMain();
  if (anyPort) {
    writeFileSync(rememberedPort, String(node.port));
    process.once('SIGINT', () => rmSync(rememberedPort, { force: true }));
  }
}

dev().catch((err: unknown) => {
  process.stderr.write(`swarmcast dev: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
