import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The package root: the nearest folder above this file with a package.json. Found by
 * walking up because this file runs both compiled (dist/src/demo/) and under ts-node
 * (src/demo/), at different depths.
 */
export function packageRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

/** Where `npm run build` writes the demo page (index.html, app.js, app.css). */
export function demoBuildDir(): string {
  return path.join(packageRoot(), 'dist', 'demo');
}

/** The front-end sources, bundled by bundle.ts. */
export function demoSourceDir(): string {
  return path.join(packageRoot(), 'src', 'demo', 'app');
}
