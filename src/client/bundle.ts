import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build } from 'esbuild';
import { packageRoot } from '../demo/paths';

/**
 * Builds `swarmcast/client` from src/client/: dist/client/index.mjs (ES module),
 * index.cjs (CommonJS) and index.d.ts (over the declarations `tsc -p src/client` wrote to
 * dist/client/types). `npm run build` runs this after tsc. Platform `browser` for the
 * size build: esbuild then fails on any Node module the client would pull in.
 */
const TARGET = 'es2020';

function common(): BuildOptions {
  return {
    entryPoints: [path.join(packageRoot(), 'src', 'client', 'index.ts')],
    bundle: true,
    target: TARGET,
    logLevel: 'warning',
  };
}

export function clientBuildDir(): string {
  return path.join(packageRoot(), 'dist', 'client');
}

export async function bundleClient(outDir = clientBuildDir()): Promise<void> {
  await build({ ...common(), platform: 'neutral', format: 'esm', outfile: path.join(outDir, 'index.mjs') });
  await build({ ...common(), platform: 'node', format: 'cjs', outfile: path.join(outDir, 'index.cjs') });
  writeFileSync(path.join(outDir, 'index.d.ts'), "export * from './types/client/index';\n");
}

/** The browser build as an app's bundler would ship it: minified, and its gzipped size. */
export async function measureBrowserBuild(): Promise<{ minified: number; gzipped: number }> {
  const result = await build({ ...common(), platform: 'browser', format: 'esm', minify: true, write: false });
  const code = result.outputFiles[0]!.contents;
  return { minified: code.byteLength, gzipped: gzipSync(code, { level: 9 }).byteLength };
}

if (require.main === module) {
  bundleClient()
    .then(measureBrowserBuild)
    .then(
      ({ minified, gzipped }) => {
        process.stdout.write(
          `client built into ${clientBuildDir()} (browser: ${minified} B minified, ${gzipped} B gzipped)\n`,
        );
      },
      (err: unknown) => {
        process.stderr.write(`client build failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
}
