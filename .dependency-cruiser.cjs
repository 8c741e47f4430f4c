// Layering rules for swarm-classic, checked by dependency-cruiser (`npm run deps`).
//
//   src/cli  →  src/api  →  src/cluster  →  src/scheduler        (imports point down)
//                               ↑
//              src/discovery, src/leadership (feed the cluster)
//   filters/*, strategies/*  →  src/scheduler/** only; reached only through
//                               filters/index.ts and strategies/index.ts
//   src/errors.ts, src/log.ts, src/version.ts, src/util/**: leaves anyone may
//                               import; they import no layer
//   src/devcluster/**: developer tool, imported only by src/cli/main.ts
//   src/tokenserver/**: the token:// service; imports only the leaves, imported
//                               only by src/cli
//   src/certs/**: CA and certificate tooling; imports only the leaves, imported
//                               only by src/cli and src/devcluster
//   src/access/**: per-user access control (policy, level table, audit log);
//                               imports only the leaves, imported only by
//                               src/api and src/cli
//
// Paths are relative to the directory depcruise runs in (the repo root; the
// unit test test/unit/layering.test.ts runs it in test/fixtures/layering/,
// which mirrors the tree). The TypeScript sources are cruised (not dist/), with
// tsPreCompilationDeps so `import type` edges are checked like any other.
// dependency-cruiser reads them with TypeScript 5.9, loaded through
// tools/typescript5/register.mjs (see there for why); tools/deps.mjs runs the
// CLI with it.
//
// Every rule is an error: `depcruise` exits non-zero on any violation.

// Guard: without the TypeScript 5.9 redirect, dependency-cruiser silently finds
// no TypeScript parser, cruises 0 modules and reports success. Refuse to run.
{
  const path = require('node:path');
  const fromCruiser = require('node:module').createRequire(
    path.join(__dirname, 'node_modules', 'dependency-cruiser', 'package.json'),
  );
  let ts;
  try {
    ts = fromCruiser('typescript');
  } catch {
    ts = undefined;
  }
  if (!ts || typeof ts.createSourceFile !== 'function') {
    throw new Error(
      'dependency-cruiser cannot load the TypeScript compiler API (TypeScript 7 has none). ' +
        'Run it as `npm run deps` or `node tools/deps.mjs [depcruise arguments]`.',
    );
  }
}

/** Every layer, as a path regex fragment (src/ subfolders plus the plugin folders). */
const LAYER = '^(src/(cli|api|cluster|scheduler|discovery|leadership|devcluster|tokenserver|certs|access)/|filters/|strategies/)';
const LEAVES = '^src/(errors|log|version)\\.ts$|^src/util/';
const REGISTRY = '^(filters|strategies)/index\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles at run time. Type-only edges may close a loop: the cluster facade (src/cluster/index.ts) names types its own modules use.',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that cannot be resolved would slip past every other rule.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'api-not-up-or-sideways',
      severity: 'error',
      comment: 'src/api may not import src/cli, src/discovery, src/leadership or src/devcluster.',
      from: { path: '^src/api/' },
      to: { path: '^src/(cli|discovery|leadership|devcluster)/' },
    },
    {
      name: 'api-only-via-cluster-facade',
      severity: 'error',
      comment: 'src/api talks to the cluster through its facade src/cluster/index.ts, never to an engine module.',
      from: { path: '^src/api/' },
      to: { path: '^src/cluster/', pathNot: '^src/cluster/index\\.ts$' },
    },
    {
      name: 'cluster-not-up',
      severity: 'error',
      comment: 'src/cluster may not import src/api, src/cli or src/devcluster.',
      from: { path: '^src/cluster/' },
      to: { path: '^src/(api|cli|devcluster)/' },
    },
    {
      name: 'scheduler-is-bottom',
      severity: 'error',
      comment: 'src/scheduler imports no other layer and no plugin (plugins depend on it, not the reverse).',
      from: { path: '^src/scheduler/' },
      to: { path: LAYER, pathNot: '^src/scheduler/' },
    },
    {
      name: 'discovery-feeds-cluster-only',
      severity: 'error',
      comment: 'src/discovery and src/leadership feed src/cluster: they import none of cli/api/cluster/scheduler/devcluster or the plugins.',
      from: { path: '^src/(discovery|leadership)/' },
      to: { path: LAYER, pathNot: '^src/(discovery|leadership)/' },
    },
    {
      name: 'leaves-import-no-layer',
      severity: 'error',
      comment: 'src/errors.ts, src/log.ts, src/version.ts and src/util/** may be imported by anyone, so they import no layer.',
      from: { path: LEAVES },
      to: { path: LAYER },
    },
    {
      name: 'plugin-imports-only-scheduler',
      severity: 'error',
      comment: 'A filter or strategy imports only src/scheduler/** and node builtins (not src/errors.ts, not a sibling such as ./filter.ts, not an npm package).',
      from: { path: '^(filters|strategies)/', pathNot: REGISTRY },
      to: { pathNot: '^src/scheduler/', dependencyTypesNot: ['core'] },
    },
    {
      name: 'plugin-registry-imports-scheduler-and-own-folder',
      severity: 'error',
      comment: 'filters/index.ts and strategies/index.ts import only src/scheduler/**, files in their own folder and node builtins.',
      from: { path: '^(filters|strategies)/index\\.ts$' },
      to: { pathNot: '^(src/scheduler/|$1/)', dependencyTypesNot: ['core'] },
    },
    {
      name: 'plugins-only-via-registry',
      severity: 'error',
      comment: 'Outside filters/ and strategies/, a plugin is reached only through filters/index.ts or strategies/index.ts.',
      // scheduler, discovery, leadership, devcluster and the leaves may not import
      // plugins at all: their own rules say so, once.
      from: { pathNot: ['^(filters|strategies)/', '^src/(scheduler|discovery|leadership|devcluster|util)/', LEAVES] },
      to: { path: '^(filters|strategies)/', pathNot: REGISTRY },
    },
    {
      name: 'devcluster-only-from-cli-main',
      severity: 'error',
      comment: 'src/devcluster is a developer tool: only src/cli/main.ts may import it.',
      from: { pathNot: '^src/(devcluster/|cli/main\\.ts$)' },
      to: { path: '^src/devcluster/' },
    },
    {
      name: 'devcluster-imports-no-layer',
      severity: 'error',
      comment: 'src/devcluster stands alone: it imports only itself, src/certs (its TLS certificates), the leaves, node builtins and npm packages.',
      from: { path: '^src/devcluster/' },
      to: { path: LAYER, pathNot: '^src/(devcluster|certs)/' },
    },
    {
      name: 'tokenserver-only-from-cli',
      severity: 'error',
      comment: 'src/tokenserver (the token:// service) is started by the CLI (swarm token-server, swarm manage --token-server): only src/cli may import it.',
      from: { pathNot: '^src/(tokenserver|cli)/' },
      to: { path: '^src/tokenserver/' },
    },
    {
      name: 'tokenserver-imports-only-leaves',
      severity: 'error',
      comment: 'src/tokenserver stands alone: it imports only itself, the leaves, node builtins and npm packages.',
      from: { path: '^src/tokenserver/' },
      to: { path: LAYER, pathNot: '^src/tokenserver/' },
    },
    {
      name: 'certs-only-from-cli-or-devcluster',
      severity: 'error',
      comment: 'src/certs (CA and certificate tooling) serves swarm certs and the dev cluster: only src/cli and src/devcluster may import it.',
      from: { pathNot: '^src/(certs|cli|devcluster)/' },
      to: { path: '^src/certs/' },
    },
    {
      name: 'certs-imports-only-leaves',
      severity: 'error',
      comment: 'src/certs stands alone: it imports only itself, the leaves, node builtins and npm packages (node-forge).',
      from: { path: '^src/certs/' },
      to: { path: LAYER, pathNot: '^src/certs/' },
    },
    {
      name: 'access-only-from-api-or-cli',
      severity: 'error',
      comment: 'src/access (policy, level table, audit) is checked by the route wrapper and loaded by the CLI: only src/api and src/cli may import it.',
      from: { pathNot: '^src/(access|api|cli)/' },
      to: { path: '^src/access/' },
    },
    {
      name: 'access-imports-only-leaves',
      severity: 'error',
      comment: 'src/access is pure rules over plain data: it imports only itself, the leaves, node builtins and npm packages (yaml).',
      from: { path: '^src/access/' },
      to: { path: LAYER, pathNot: '^src/access/' },
    },
  ],
  options: {
    // Type-only imports (`import type`, `export type ... from`) are checked too.
    tsPreCompilationDeps: true,
    // Fail rather than fall back to a JavaScript parser if TypeScript is missing.
    parser: 'tsc',
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|test/fixtures)/' },
    moduleSystems: ['es6', 'cjs'],
    skipAnalysisNotInRules: true,
    reporterOptions: {},
  },
};
