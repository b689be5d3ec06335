import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { within } from '../helpers/wait';

const ROOT = path.join(__dirname, '..', '..', '..');
const EXAMPLE = path.join(ROOT, 'examples', 'express-app');

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/**
 * The example app in a temporary folder outside the repository, with swarmcast installed
 * from the tarball `npm pack` makes, as a user's app gets it from the registry.
 */
export class InstalledApp {
  private constructor(readonly dir: string) {}

  static install(): InstalledApp {
    const dir = mkdtempSync(path.join(tmpdir(), 'swarmcast-app-'));
    // The build is `npm test`'s (or the developer's) own: running it again here would
    // rewrite dist/ under the test files that other suites are running.
    run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], ROOT);
    const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack left no tarball in ${dir}`);
    for (const name of ['package.json', 'server.mjs', 'test.mjs']) {
      cpSync(path.join(EXAMPLE, name), path.join(dir, name));
    }
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    manifest.dependencies.swarmcast = `file:./${tarball}`;
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
    // Everything the app needs is in the npm cache since the repository's own install.
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], dir);
    return new InstalledApp(dir);
  }

  /** Runs the example's own test (`node --test test.mjs`) where it is installed. */
  runOwnTest(): { status: number | null; output: string } {
    // Without NODE_TEST_CONTEXT, which this test's runner sets: with it, the child would
    // report to that runner in its own protocol instead of printing its results.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const result = spawnSync(process.execPath, ['--test', '--test-reporter=tap', 'test.mjs'], {
      cwd: this.dir,
      encoding: 'utf8',
      env,
    });
    return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
  }

  /**
   * Type-checks `source` as a strict TypeScript file of the app, against the package's
   * declarations as installed (with their dependencies' types, no skipLibCheck).
   */
  typeCheck(source: string): { status: number | null; output: string } {
    writeFileSync(path.join(this.dir, 'typed.ts'), source);
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--strict', '--noEmit', '--module', 'node16', '--moduleResolution', 'node16'];
    args.push(
      '--target',
      'es2022',
      '--typeRoots',
      path.join(ROOT, 'node_modules', '@types'),
      '--types',
      'node',
    );
    const result = spawnSync(process.execPath, [tsc, ...args, 'typed.ts'], {
      cwd: this.dir,
      encoding: 'utf8',
    });
    return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
  }

  /** Starts `server.mjs` on a free port with `env` added; resolves once it listens. */
  async start(env: Record<string, string> = {}): Promise<AppProcess> {
    const proc = spawn(process.execPath, ['server.mjs'], {
      cwd: this.dir,
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const app = new AppProcess(proc);
    await within(app.listening, 'the app to listen', 20_000);
    return app;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One running app process and everything it wrote. */
export class AppProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly listening: Promise<number>;
  port = 0;

  constructor(readonly proc: ChildProcess) {
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    this.listening = new Promise((resolve, reject) => {
      for (const stream of [proc.stdout!, proc.stderr!]) {
        let buffered = '';
        stream.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          const parts = buffered.split('\n');
          buffered = parts.pop() ?? '';
          for (const line of parts) {
            this.lines.push(line);
            const found = /listening on port (\d+)/.exec(line);
            if (found) {
              this.port = Number(found[1]);
              resolve(this.port);
            }
          }
        });
      }
      void this.exited.then(({ code }) =>
        reject(new Error(`the app exited with ${code} before listening:\n${this.lines.join('\n')}`)),
      );
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stops the process for good (after a failure too); resolves once it is gone. */
  async kill(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    await this.exited;
  }
}
