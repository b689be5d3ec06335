/**
 * `npm run chaos -- [--minutes N] [--seed S] [--redis single|cluster]`: one chaos run on
 * this machine (docs/reliability.md). Prints the fault log as it goes, then the table;
 * exits 1 when anything was lost, repeated, out of order, unconverged or over bound.
 */
import { runChaos } from './chaos-run';
import type { RedisMode } from './stack';

interface Args {
  minutes: number;
  seed: number;
  redis: RedisMode;
}

function usage(message: string): never {
  process.stderr.write(
    `chaos: ${message}\nusage: npm run chaos -- [--minutes N] [--seed S] [--redis single|cluster]\n`,
  );
  process.exit(2);
}

export function parseArgs(argv: readonly string[]): Args {
  const args: Args = { minutes: 2, seed: Date.now() % 1_000_000, redis: 'single' };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]!;
    const value = argv[i + 1];
    if (value === undefined) usage(`${name} needs a value`);
    i++;
    switch (name) {
      case '--minutes':
        args.minutes = Number(value);
        if (!(args.minutes > 0)) usage(`--minutes must be a positive number, not ${value}`);
        break;
      case '--seed':
        args.seed = Number(value);
        if (!Number.isInteger(args.seed) || args.seed < 0)
          usage(`--seed must be a whole number, not ${value}`);
        break;
      case '--redis':
        if (value !== 'single' && value !== 'cluster')
          usage(`--redis must be single or cluster, not ${value}`);
        args.redis = value;
        break;
      default:
        usage(`unknown option ${name}`);
    }
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const log = (line: string) =>
    process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
  log(`chaos run: ${args.minutes} min, seed ${args.seed}, Redis ${args.redis}`);
  const report = await runChaos({ ...args, log });
  for (const error of report.faultErrors) log(`a fault could not complete: ${error}`);
  process.stdout.write(`\n${report.table}\n`);
  process.exit(report.passed ? 0 : 1);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`chaos: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
