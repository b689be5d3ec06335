// The programs the test suites need from the system, in one list: a suite that needs
// another program adds a line here, and `npm test` and `.ci/run` check for it before
// anything runs. `dirs` are searched after PATH, for Debian packages that keep their
// programs off PATH.
module.exports = [
  { program: 'redis-server', apt: 'redis-server', why: 'every Redis and cluster test starts its own' },
  { program: 'chromium', apt: 'chromium', why: 'the browser tests drive it through playwright-core' },
  {
    program: 'initdb',
    apt: 'postgresql',
    why: 'the PostgreSQL storage tests start their own server',
    dirs: ['/usr/lib/postgresql/*/bin'],
  },
  {
    program: 'pg_ctl',
    apt: 'postgresql',
    why: 'the PostgreSQL storage tests start their own server',
    dirs: ['/usr/lib/postgresql/*/bin'],
  },
];
