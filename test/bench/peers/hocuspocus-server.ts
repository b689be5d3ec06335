/**
 * The Hocuspocus peer: `@hocuspocus/server` with `@hocuspocus/extension-redis`, one process
 * per node, all nodes on the bench's Redis. No database extension: documents live in the
 * nodes' memory while a client has them open, and Redis carries updates between nodes,
 * which is how Hocuspocus scales out.
 */
async function main(): Promise<void> {
  // ES modules only: loaded with import(), which this CommonJS build keeps as is.
  const { Redis } = await import('@hocuspocus/extension-redis');
  const { Server } = await import('@hocuspocus/server');
  const port = Number(process.env.PORT);
  const redis = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const server = new Server({
    port,
    address: '127.0.0.1',
    quiet: true,
    stopOnSignals: false,
    extensions: [
      new Redis({
        host: redis.hostname,
        port: Number(redis.port),
        identifier: process.env.NODE_ID ?? `hocuspocus-${port}`,
      }),
    ],
  });
  await server.listen();
  process.on('SIGTERM', () => {
    void server.destroy().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}

void main();
