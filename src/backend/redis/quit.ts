/** How long a graceful QUIT may take before the connection is just dropped. */
const QUIT_WAIT_MS = 2000;

/**
 * QUIT, or a plain disconnect when it fails or takes too long: a cluster client's QUIT to
 * a node it is still reconnecting to would wait in that node's queue for good.
 */
export async function quitWithin(client: { quit(): Promise<unknown>; disconnect(): void }): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, QUIT_WAIT_MS);
  });
  await Promise.race([client.quit().catch(() => {}), late]).finally(() => clearTimeout(timer));
  client.disconnect();
}
