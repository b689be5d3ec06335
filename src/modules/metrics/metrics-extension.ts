import type { Extension } from '../../core/host';

export interface MetricsOptions {
  /**
   * Adds Node's own process figures (CPU, memory, event loop lag, GC). On for `npm start`,
   * off where several nodes share one process (tests), since they would all report the same.
   */
  readonly processMetrics?: boolean;
}

/** `GET /metrics`: this node's figures in the Prometheus text format. */
export function metricsExtension(options: MetricsOptions = {}): Extension {
  return {
    name: 'metrics',
    install(node) {
      if (options.processMetrics) node.metrics.collectProcessMetrics();
      node.route('GET /metrics', async (_req, res) => {
        const body = await node.metrics.expose();
        res.writeHead(200, {
          'content-type': node.metrics.contentType,
          'content-length': Buffer.byteLength(body),
        });
        res.end(body);
      });
    },
  };
}
