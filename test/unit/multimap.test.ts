// StringMultiMap (src/util/multimap.ts): the cluster's name and short-ID indexes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StringMultiMap } from '../../src/util/multimap.js';

test('StringMultiMap: one value, several, back to one, none', () => {
  const m = new StringMultiMap();
  assert.deepEqual(m.get('web'), []);
  m.add('web', 'a');
  m.add('web', 'a');
  assert.deepEqual(m.get('web'), ['a']);
  m.add('web', 'b');
  assert.deepEqual(m.get('web'), ['a', 'b']);
  assert.equal(m.count('web'), 2);
  m.delete('web', 'a');
  assert.deepEqual(m.get('web'), ['b']);
  m.delete('web', 'x');
  m.delete('web', 'b');
  assert.deepEqual(m.get('web'), []);
  assert.deepEqual([...m.keys()], []);
});

test('StringMultiMap answers as a Map of Sets does (property)', () => {
  const op = fc.tuple(fc.boolean(), fc.constantFrom('k1', 'k2', 'k3'), fc.constantFrom('a', 'b', 'c'));
  fc.assert(fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
    const m = new StringMultiMap();
    const ref = new Map<string, Set<string>>();
    for (const [add, k, v] of ops) {
      if (add) { m.add(k, v); if (!ref.has(k)) ref.set(k, new Set()); ref.get(k)!.add(v); }
      else { m.delete(k, v); ref.get(k)?.delete(v); if (ref.get(k)?.size === 0) ref.delete(k); }
      for (const key of ['k1', 'k2', 'k3']) {
        assert.deepEqual(m.get(key), [...(ref.get(key) ?? [])]);
        assert.equal(m.count(key), ref.get(key)?.size ?? 0);
      }
      assert.deepEqual([...m.keys()].sort(), [...ref.keys()].sort());
    }
  }), { numRuns: 300 });
});
