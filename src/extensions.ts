import type { Config } from './core/config';
import type { Extension } from './core/host';
import type { Logger } from './core/log';
import { demoExtension } from './demo/demo-extension';
import { adminExtension } from './modules/admin/admin-api';
import { authExtension } from './modules/auth/auth-extension';
import { metricsExtension } from './modules/metrics/metrics-extension';
import { StorageExtension } from './modules/storage/storage-extension';
import { YjsExtension } from './modules/yjs/yjs-extension';

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
