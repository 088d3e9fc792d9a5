/**
 * Architecture rules, checked by `npm test` (depcruise before jest):
 * - no import cycle anywhere in src/ or adapters/;
 * - an adapter's own code (index, src/, sandbox/) reaches the hub only through the public core API (`caseway/core`,
 *   src/core/index.ts), never another file of src/;
 * - an adapter's sandbox never imports that adapter's src/ or index (it is written from the peer's reference);
 * - the core never imports the HTTP layer, the ops console, the CLI or an adapter.
 * Adapter tests may use the hub's internals to start one.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'An import cycle: split the shared part into its own module.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'adapter-through-public-core',
      severity: 'error',
      comment: "Adapters import the hub as 'caseway/core' (src/core/index.ts) only.",
      from: { path: '^adapters/[^/]+/', pathNot: '^adapters/[^/]+/test/' },
      to: { path: '^src/', pathNot: '^src/core/index\\.ts$' },
    },
    {
      name: 'adapter-not-another-adapter',
      severity: 'error',
      comment: 'Adapters are self-contained folders.',
      from: { path: '^adapters/([^/]+)/' },
      to: { path: '^adapters/', pathNot: '^adapters/$1/' },
    },
    {
      name: 'sandbox-from-the-reference',
      severity: 'error',
      comment:
        "A sandbox peer is written from the peer's reference, not from the adapter: one that imports the adapter's own tables or rules can never show that they are wrong.",
      from: { path: '^adapters/([^/]+)/sandbox/' },
      to: { path: '^adapters/$1/(src/|index\\.ts$)' },
    },
    {
      name: 'core-stays-core',
      severity: 'error',
      comment: 'The core is composed by the CLI; it does not start HTTP, the ops console or adapters.',
      from: { path: '^src/core/' },
      to: { path: '^(src/(http|ops|cli)|adapters)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['cjs', 'es6'],
  },
};
