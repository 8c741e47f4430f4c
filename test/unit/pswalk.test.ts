// NewestFirst (src/cluster/newest.ts): the order kept through adds, removals
// and re-placements is always the order a full sort gives. And the shortcuts
// of `ps --filter name=` (src/cluster/list.ts) answer as the regex test does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NewestFirst } from '../../src/cluster/newest.js';
import { nameTest, newestFirst } from '../../src/cluster/list.js';
import { matchAny } from '../../src/util/dockerfilters.js';
import type { Ref } from '../../src/cluster/cluster.js';
import type { CachedContainer } from '../../src/cluster/containers.js';

const ref = (id: string, created: number): Ref => ({ node: {} as Ref['node'], container: { id, created } as CachedContainer });

test('the kept order is the sorted order after any sequence of changes and reads', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), created: fc.integer({ min: 0, max: 20 }) }),
    fc.record({ kind: fc.constant('remove' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('recreate' as const), at: fc.nat(), created: fc.integer({ min: 0, max: 20 }) }),
    fc.record({ kind: fc.constant('read' as const) }),
  );
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 30 }), fc.array(op, { maxLength: 120 }), (initial, ops) => {
    let next = 0;
    const byId = new Map<string, Ref>();
    const add = (created: number): Ref => { const r = ref(`c${String(next++).padStart(4, '0')}`, created); byId.set(r.container.id, r); return r; };
    for (const c of initial) add(c);
    const kept = new NewestFirst(() => byId.values());
    const check = (): void => assert.deepEqual(kept.get().map((r) => r.container.id), [...byId.values()].sort(newestFirst).map((r) => r.container.id));
    check();
    for (const o of ops) {
      const refs = [...byId.values()];
      if (o.kind === 'add') kept.added(add(o.created));
      else if (o.kind === 'read') check();
      else if (refs.length) {
        const r = refs[o.at % refs.length];
        if (o.kind === 'remove') { byId.delete(r.container.id); kept.removed(r.container); }
        // An inspect made `created` precise: changed in place, then placed again.
        else { (r.container as { created: number }).created = o.created; kept.removed(r.container); kept.added(r); }
      }
    }
    check();
  }), { numRuns: 500 });
});

test('ps name filter: the literal shortcuts answer as the regex test of "/name" and "/node/name" does', () => {
  const general = (values: string[], node: string, name: string): boolean => matchAny(values, '/' + name) || matchAny(values, `/${node}/${name}`);
  const unit = fc.constantFrom('a', 'b', '-', '_', '.', '/', '^', '$', '1');
  const part = fc.string({ unit: fc.constantFrom('a', 'b', '-', '_', '.', '1'), minLength: 1, maxLength: 5 });
  fc.assert(fc.property(fc.array(fc.string({ unit, maxLength: 8 }), { minLength: 1, maxLength: 2 }), part, part, (values, node, name) => {
    assert.equal(nameTest(values)(node, name), general(values, node, name), `${JSON.stringify(values)} ${node} ${name}`);
  }), { numRuns: 20000 });
  for (const [v, node, name, want] of [['web', 'n1', 'proj_web_1', true], ['^/web$', 'n1', 'web', true], ['^/web$', 'n1', 'web1', false],
    ['^/n1/web$', 'n1', 'web', true], ['^/n1', 'n1', 'x', true], ['n1/we', 'n1', 'web', true], ['^/we', 'n1', 'web', true]] as const) {
    assert.equal(nameTest([v])(node, name), want, `${v} ${node} ${name}`);
  }
});
