/**
 * `node dist/test/bench/heap-summary.js BEFORE.heapsnapshot AFTER.heapsnapshot [N]`: what grew
 * between two V8 heap snapshots (as `npm run bench -- --only s4 --heap-snapshots DIR` writes
 * them), as self size and count by node type and name: a first look at what a server keeps.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

function aggregate(file: string): Map<string, { size: number; count: number }> {
  const snapshot = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const totals = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    // Strings are grouped by type only: their names are their contents.
    const name =
      type === 'string' || type === 'concatenated string'
        ? ''
        : snapshot.strings[snapshot.nodes[i + nameAt]!]!;
    const key = `${type} ${name.slice(0, 60)}`;
    const entry = totals.get(key) ?? { size: 0, count: 0 };
    entry.size += snapshot.nodes[i + sizeAt]!;
    entry.count += 1;
    totals.set(key, entry);
  }
  return totals;
}

const [before, after, top = '25'] = process.argv.slice(2);
if (!before || !after) throw new Error('usage: heap-summary BEFORE AFTER [N]');
const a = aggregate(before);
const b = aggregate(after);
const growth = [...b].map(([key, { size, count }]) => ({
  key,
  size: size - (a.get(key)?.size ?? 0),
  count: count - (a.get(key)?.count ?? 0),
}));
growth.sort((x, y) => y.size - x.size);
const total = growth.reduce((sum, g) => sum + g.size, 0);
process.stdout.write(`heap growth: ${(total / 1024).toFixed(0)} KB\n`);
for (const g of growth.slice(0, Number(top))) {
  process.stdout.write(
    `${(g.size / 1024).toFixed(1).padStart(10)} KB ${String(g.count).padStart(8)}  ${g.key}\n`,
  );
}
