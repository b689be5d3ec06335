import { adminExtension } from './admin/admin-api';
import { authExtension } from './auth/auth-extension';
import type { Config } from './config';
import { demoExtension } from './demo/demo-extension';
import type { Extension } from './host';
import type { Logger } from './log';
import { metricsExtension } from './metrics/metrics-extension';
import { StorageExtension } from './storage/storage-extension';
import { YjsExtension } from './yjs/yjs-extension';

/**
 * The extensions `npm start` installs, in order: each module (Yjs, auth, metrics, admin
 * API, demo page) adds one line here and nothing to main.ts.
 */
export function defaultExtensions(config: Config, _log: Logger): Extension[] {
  const yjs = new YjsExtension();
  const storage = new StorageExtension();
  return [
    storage,
    metricsExtension({ processMetrics: true }),
    authExtension(),
    yjs,
    adminExtension(config.adminToken, {
      inspectors: { yjs: (room) => yjs.inspect(room) },
      endpoints: () => storage.adminEndpoints(),
    }),
    demoExtension(),
  ];
}
