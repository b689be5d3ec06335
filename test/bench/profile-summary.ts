/**
 * `node dist/test/bench/profile-summary.js DIR [N]`: the top N functions by self time of every
 * `.cpuprofile` in DIR (as `npm run bench -- --cpu-prof DIR` writes them), and the same by
 * source file: a first look at where a server spends its CPU before opening a profile in DevTools.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function short(url: string): string {
  const at = url.lastIndexOf('node_modules/');
  if (at !== -1) return url.slice(at + 'node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  return dist !== -1 ? url.slice(dist + 1) : url || '(native)';
}

function summarize(file: string, top: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const total = [...selfMs.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = short(url);
    const name = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    byFile.set(where, (byFile.get(where) ?? 0) + ms);
  }
  const print = (title: string, map: Map<string, number>) => {
    process.stdout.write(`  ${title}\n`);
    for (const [name, ms] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      process.stdout.write(
        `    ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(6)} ms  ${name}\n`,
      );
    }
  };
  process.stdout.write(`${path.basename(file)}: ${total.toFixed(0)} ms sampled\n`);
  print('by function (self time)', byFunction);
  print('by file (self time)', byFile);
}

const [dir = '.', count = '15'] = process.argv.slice(2);
for (const name of readdirSync(dir)
  .filter((n) => n.endsWith('.cpuprofile'))
  .sort()) {
  summarize(path.join(dir, name), Number(count));
}
