/**
 * The layering of src/ (docs/architecture.md): no import cycles, and no module outside
 * src/backend/ reaches a concrete backend. `src/backend/index.ts` is the one place that
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
      to: { path: '^src/backend/(memory|redis)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
