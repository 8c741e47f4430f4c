// The layering rules (.dependency-cruiser.cjs) bite: dependency-cruiser, run
// exactly as `npm run deps` runs it, on the miniature tree in
// test/fixtures/layering/ reports each deliberately bad import under the
// expected rule (type-only imports included) and nothing else, and the same
// tree without its bad-*.ts files is clean.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

// compiled to dist/test/unit/: the repo root is three levels up
const ROOT = path.resolve(__dirname, '..', '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'layering');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
// what `npm run deps` runs: depcruise's CLI with the TypeScript 5.9 redirect
const DEPS = path.join(ROOT, 'tools', 'deps.mjs');
// depcruise's CLI alone
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

interface Cruise {
  status: number | null;
  stdout: string;
  stderr: string;
  modules: number;
  violations: string[];
}

/**
 * depcruise in `cwd` over src/ filters/ strategies/, exactly as `npm run deps`
 * runs it (same config, same `err` reporter, whose exit code is the number of
 * errors); violations as "rule: from -> to".
 */
function cruise(cwd: string, extra: string[] = [], redirect = true): Cruise {
  const args = [redirect ? DEPS : DEPCRUISE, '--config', CONFIG, ...extra, 'src', 'filters', 'strategies'];
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  const lines = r.stdout.split('\n');
  const violations: string[] = [];
  lines.forEach((line, i) => {
    const m = /^\s+(\w+) ([\w-]+): (\S+) →\s*(\S*)$/.exec(line);
    if (!m) return;
    assert.equal(m[1], 'error', `${m[2]} should be an error`);
    // a cycle lists its next module on the following line
    let to = m[4] || lines[i + 1].trim().replace(/\s*→$/, '');
    // an npm package is reported by its path: keep it stable whatever the fixture depth
    // (and in a git worktree whose node_modules links to another checkout's)
    to = to.replace(/^(\.\.\/)+([\w.-]+\/)*node_modules\//, 'node_modules/');
    violations.push(`${m[2]}: ${m[3]} -> ${to}`);
  });
  const modules = Number(/(\d+) modules, \d+ dependencies cruised/.exec(r.stdout)?.[1] ?? 0);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, modules, violations: violations.sort() };
}

describe('layering rules (.dependency-cruiser.cjs)', () => {
  it('report every bad-*.ts import in the fixture tree, each under its rule, and nothing else', () => {
    const r = cruise(FIXTURES);
    assert.deepEqual(r.violations, [
      'access-imports-only-leaves: src/access/bad-layer.ts -> src/cluster/index.ts',
      'access-only-from-api-or-cli: src/cluster/bad-access.ts -> src/access/index.ts',
      'api-not-up-or-sideways: src/api/bad-discovery.ts -> src/discovery/index.ts',
      'api-only-via-cluster-facade: src/api/bad-engine.ts -> src/cluster/engine.ts',
      'certs-imports-only-leaves: src/certs/bad-layer.ts -> src/cluster/index.ts',
      'certs-only-from-cli-or-devcluster: src/api/bad-certs.ts -> src/certs/index.ts',
      // type-only: `import type { serve } from '../api/server.js'`
      'cluster-not-up: src/cluster/bad-type-up.ts -> src/api/server.ts',
      'devcluster-imports-no-layer: src/devcluster/bad-layer.ts -> src/api/server.ts',
      'devcluster-only-from-cli-main: src/cli/bad-devcluster.ts -> src/devcluster/index.ts',
      // type-only
      'discovery-feeds-cluster-only: src/discovery/bad-cluster.ts -> src/cluster/index.ts',
      // type-only
      'leaves-import-no-layer: src/util/bad-layer.ts -> src/scheduler/node.ts',
      'no-circular: src/cluster/bad-cycle-a.ts -> src/cluster/bad-cycle-b.ts',
      'not-to-unresolvable: src/api/bad-unresolvable.ts -> ./not-there.js',
      'plugin-imports-only-scheduler: filters/bad-errors.ts -> src/errors.ts',
      'plugin-imports-only-scheduler: filters/bad-registry.ts -> strategies/index.ts',
      'plugin-imports-only-scheduler: strategies/bad-npm.ts -> node_modules/express/index.js',
      'plugin-imports-only-scheduler: strategies/bad-sibling.ts -> strategies/spread.ts',
      'plugins-only-via-registry: src/cluster/bad-plugin.ts -> filters/affinity.ts',
      // type-only
      'scheduler-is-bottom: src/scheduler/bad-type-plugin.ts -> filters/index.ts',
      'tokenserver-imports-only-leaves: src/tokenserver/bad-layer.ts -> src/cluster/index.ts',
      'tokenserver-only-from-cli: src/api/bad-tokenserver.ts -> src/tokenserver/index.ts',
    ]);
    assert.equal(r.status, r.violations.length, 'depcruise exits with the number of errors');
    assert.equal(r.modules, 50, r.stdout);
  });

  it('pass the same tree without its bad-*.ts files', () => {
    const r = cruise(FIXTURES, ['--exclude', '(^|/)bad-[^/]*\\.ts$']);
    assert.deepEqual(r.violations, []);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    // every good file was read (an unreadable .ts file would silently drop out)
    assert.equal(r.modules, 26);
  });

  it('hold the registries to src/scheduler/** and their own folder', () => {
    const r = cruise(path.join(FIXTURES, 'registry'));
    assert.deepEqual(r.violations, [
      'plugin-registry-imports-scheduler-and-own-folder: filters/index.ts -> src/errors.ts',
      'plugin-registry-imports-scheduler-and-own-folder: strategies/index.ts -> filters/index.ts',
    ]);
    assert.equal(r.status, 2, r.stdout);
  });

  it('refuse to run without the TypeScript 5.9 redirect instead of cruising nothing', () => {
    const r = cruise(FIXTURES, [], false);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /cannot load the TypeScript compiler API/);
  });
});
