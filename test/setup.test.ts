import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

const root = path.join(__dirname, '..', '..');
const SETUP = path.join(root, 'scripts', 'setup.js');
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
/** The set-up step as an ordinary user would run it: as `nobody` when the tests run as root. */
const asUser = isRoot ? { uid: NOBODY, gid: NOBODY } : {};

const dirs: string[] = [];
/** A directory every user can read, with `node`, `npm`, `sh` and `apt-get` and nothing else on it. */
function binDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'swarmcast-setup-'));
  dirs.push(dir);
  chmodSync(dir, 0o755);
  symlinkSync(process.execPath, path.join(dir, 'node'));
  // npm as Node's installers lay it out: lib/node_modules/npm beside bin/node.
  const npm = path.join(
    path.dirname(process.execPath),
    '..',
    'lib',
    'node_modules',
    'npm',
    'bin',
    'npm-cli.js',
  );
  symlinkSync(npm, path.join(dir, 'npm'));
  // npm runs scripts with sh; apt-get is what makes this look like the Debian it is.
  symlinkSync('/bin/sh', path.join(dir, 'sh'));
  return dir;
}

/** binDir() with the system's apt-get too. */
function debianBinDir(): string {
  const dir = binDir();
  symlinkSync('/usr/bin/apt-get', path.join(dir, 'apt-get'));
  return dir;
}

function stub(dir: string, program: string, body = 'exit 0'): void {
  const file = path.join(dir, program);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
}

const PROGRAMS = ['redis-server', 'chromium', 'initdb', 'pg_ctl'];

after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the set-up step (scripts/setup.js)', () => {
  it('stops `npm test` before any test, naming redis-server and Chromium and the command, when they are missing and it is not root', () => {
    const bin = debianBinDir();
    const home = path.join(bin, 'home');
    mkdirSync(home);
    if (isRoot) chownSync(home, NOBODY, NOBODY);
    const result = spawnSync('npm', ['test'], {
      cwd: root,
      env: {
        PATH: bin,
        HOME: home,
        npm_config_cache: path.join(home, '.npm'),
        npm_config_update_notifier: 'false',
      },
      ...asUser,
      timeout: 60_000,
    });
    const output = `${result.error ?? ''}${result.stdout}${result.stderr}`;
    assert.notEqual(result.status, 0, output);
    assert.match(output, /the tests need programs this machine lacks: redis-server \(.*\), chromium \(/);
    assert.match(output, /install them with: sudo apt-get install -y redis-server chromium/);
    // Nothing after the set-up step ran: not the linter, not the build, not a test file.
    const afterSetup = output.slice(output.indexOf('swarmcast set-up:'));
    assert.doesNotMatch(afterSetup, /Checked \d+ files|error TS|demo page bundled|ℹ tests|▶|✔/);
  });

  it('does nothing, and prints nothing, when every program is there', () => {
    const bin = binDir();
    for (const program of PROGRAMS) stub(bin, program);
    stub(bin, 'apt-get', `echo called > ${path.join(bin, 'apt-get-called')}`);
    const result = spawnSync(process.execPath, [SETUP], { env: { PATH: bin }, ...asUser, timeout: 30_000 });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    assert.equal(`${result.stdout}${result.stderr}`, '');
    assert.throws(() => readFileSync(path.join(bin, 'apt-get-called')), { code: 'ENOENT' });
  });

  it('installs the missing packages with apt-get as root on Debian, then passes', { skip: !isRoot }, () => {
    const bin = binDir();
    const log = path.join(bin, 'apt-get.log');
    // A stand-in apt-get: records its arguments and "installs" a package by adding its programs.
    const programsOf =
      'redis-server) p="redis-server";; chromium) p="chromium";; postgresql) p="initdb pg_ctl";; *) p="";;';
    stub(
      bin,
      'apt-get',
      [
        `echo "$*" >> ${log}`,
        '[ "$1" = install ] || exit 0',
        'for pkg in "$@"; do',
        `  case "$pkg" in ${programsOf} esac`,
        `  for prog in $p; do printf '#!/bin/sh\\n' > ${bin}/$prog; /bin/chmod 755 ${bin}/$prog; done`,
        'done',
      ].join('\n'),
    );
    stub(bin, 'initdb');
    stub(bin, 'pg_ctl');
    const result = spawnSync(process.execPath, [SETUP], { env: { PATH: bin }, timeout: 30_000 });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [
      'update -qq',
      'install -y -qq redis-server chromium',
    ]);
    assert.match(
      result.stdout.toString(),
      /installing what the tests need: redis-server \(.*\), chromium \(/,
    );
  });
});
