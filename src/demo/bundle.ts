import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { demoBuildDir, demoSourceDir } from './paths';

/**
 * Bundles the demo page (src/demo/app/) into one script and one stylesheet next to its
 * index.html, so that a node serves everything itself: no CDN, nothing fetched at run
 * time. `npm run build` runs this after tsc; esbuild is a devDependency and only this
 * build step loads it, never the server.
 */
export async function bundleDemo(outDir = demoBuildDir()): Promise<{ outDir: string; bytes: number }> {
  const source = demoSourceDir();
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: { app: path.join(source, 'main.ts') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    // Every browser with ES modules and WebSocket; CodeMirror 6 needs no older.
    target: 'es2020',
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  copyFileSync(path.join(source, 'index.html'), path.join(outDir, 'index.html'));
  const bytes = Object.entries(result.metafile.outputs)
    .filter(([file]) => !file.endsWith('.map'))
    .reduce((sum, [, output]) => sum + output.bytes, 0);
  return { outDir, bytes };
}

if (require.main === module) {
  bundleDemo().then(
    ({ outDir, bytes }) => {
      process.stdout.write(`demo page bundled into ${outDir} (${Math.round(bytes / 1024)} KiB)\n`);
    },
    (err: unknown) => {
      process.stderr.write(`demo bundle failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
