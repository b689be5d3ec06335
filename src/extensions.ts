import { authExtension } from './auth/auth-extension';
import type { Config } from './config';
import type { Logger } from './log';
import type { Extension } from './node';
import { YjsExtension } from './yjs/yjs-extension';

/**
 * The extensions `npm start` installs, in order: each module (Yjs, auth, metrics, admin
 * API, demo page) adds one line here and nothing to main.ts.
 */
export function defaultExtensions(_config: Config, _log: Logger): Extension[] {
  return [authExtension(), new YjsExtension()];
}
