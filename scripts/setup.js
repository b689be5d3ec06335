#!/usr/bin/env node
// The set-up step of `npm test` and `.ci/run`: checks that the programs the suites need
// (requirements.js) are there, installs the missing ones with apt-get when it can (root
// on Debian), and otherwise stops with one message that names them and the command to
// install them. Nothing is printed when everything is there.
const { spawnSync } = require('node:child_process');
const { accessSync, constants, existsSync, readdirSync } = require('node:fs');
const path = require('node:path');
const requirements = require('./requirements');

/** `dir` with each `*` segment expanded to the entries there, newest version first. */
function expand(dir) {
  const parts = dir.split(path.sep);
  let found = [parts[0] === '' ? path.sep : parts[0]];
  for (const part of parts.slice(1)) {
    if (part === '') continue;
    found = found.flatMap((base) => {
      if (part !== '*') return [path.join(base, part)];
      try {
        return readdirSync(base)
          .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }))
          .map((name) => path.join(base, name));
      } catch {
        return [];
      }
    });
  }
  return found;
}

/** The full path of `program` on `PATH` or in `dirs`, or undefined. */
function findProgram(program, dirs = [], env = process.env) {
  const candidates = [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), ...dirs.flatMap(expand)];
  for (const dir of candidates) {
    const full = path.join(dir, program);
    try {
      accessSync(full, constants.X_OK);
      return full;
    } catch {
      // not here
    }
  }
  return undefined;
}

function missingRequirements(env = process.env) {
  return requirements.filter((req) => !findProgram(req.program, req.dirs, env));
}

function packagesOf(missing) {
  return [...new Set(missing.map((req) => req.apt))];
}

function describe(missing) {
  return missing.map((req) => `${req.program} (${req.why})`).join(', ');
}

function run(command, args) {
  process.stdout.write(`swarmcast set-up: ${command} ${args.join(' ')}\n`);
  const result = spawnSync(command, args, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return result.status === 0;
}

function main() {
  const missing = missingRequirements();
  if (missing.length === 0) return 0;
  const packages = packagesOf(missing);
  const isRoot = process.getuid?.() === 0;
  const onDebian = existsSync('/etc/debian_version') && findProgram('apt-get') !== undefined;
  if (isRoot && onDebian) {
    process.stdout.write(`swarmcast set-up: installing what the tests need: ${describe(missing)}\n`);
    const installed =
      run('apt-get', ['update', '-qq']) && run('apt-get', ['install', '-y', '-qq', ...packages]);
    const still = missingRequirements();
    if (installed && still.length === 0) return 0;
    process.stderr.write(
      `swarmcast set-up: apt-get did not install everything; still missing: ${describe(still.length ? still : missing)}\n`,
    );
    return 1;
  }
  const install = `${isRoot ? '' : 'sudo '}apt-get install -y ${packages.join(' ')}`;
  const why = isRoot ? 'no apt-get here' : 'not root';
  const how = onDebian
    ? `install them with: ${install}`
    : `on Debian or Ubuntu, install them with: ${install}; elsewhere, with the system's package manager`;
  process.stderr.write(
    `swarmcast set-up: the tests need programs this machine lacks: ${describe(missing)}. ` +
      `Nothing was installed (${why}); ${how}\n`,
  );
  return 1;
}

module.exports = { findProgram, missingRequirements };

if (require.main === module) process.exit(main());
