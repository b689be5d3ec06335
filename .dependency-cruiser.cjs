/**
 * The layering of src/ (docs/architecture.md): no import cycles; core, backends, modules and
 * the client each import only what their layer may; no module outside src/backend/ reaches a
 * concrete backend. `src/backend/index.ts` is the one place that
 * picks a backend from the configuration. Type-only imports count: a cycle of types is
 * still two concepts that cannot be read apart.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import cycle in src/: cut the shared part into a file both import.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'backends-behind-the-seam',
      severity: 'error',
      comment:
        'Only src/backend/ (and its index.ts, the factory) may import a concrete backend; everything else uses the Backend interface.',
      from: { path: '^src/', pathNot: '^src/backend/' },
      to: { path: '^src/backend/(memory|redis)/|^src/backend/storage/(postgres|file)-store' },
    },
    {
      name: 'core-knows-no-module',
      severity: 'error',
      comment:
        'src/core/ is the node without its modules: it may use the Backend interface, never a module, the host or the process.',
      from: { path: '^src/core/' },
      to: { path: '^src/(modules|demo|client|embed)/|^src/(node|main|dev|extensions|index)\\.ts$' },
    },
    {
      name: 'backends-know-no-module',
      severity: 'error',
      comment: 'A backend provides stores to modules; it never imports one, nor the host or the process.',
      from: { path: '^src/backend/' },
      to: { path: '^src/(modules|demo|client|embed)/|^src/(node|main|dev|extensions|index)\\.ts$' },
    },
    {
      name: 'modules-see-the-host-interface',
      severity: 'error',
      comment:
        'A module sees its node through Host (src/core/host.ts), never SwarmNode, the process or the embedding.',
      from: { path: '^src/modules/' },
      to: { path: '^src/embed/|^src/(node|main|dev|extensions|index)\\.ts$' },
    },
    {
      name: 'client-stands-alone',
      severity: 'error',
      comment:
        'swarmcast/client runs in browsers: it may share the wire types and codes, nothing of the server.',
      from: { path: '^src/client/', pathNot: '^src/client/bundle\\.ts$' },
      to: { path: '^src/', pathNot: '^src/client/|^src/core/protocol/wire\\.ts$|^src/core/errors\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
