// The string interner behind the container cache (src/util/intern.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Interner } from '../../src/util/intern.js';

test('Interner: one kept copy per value; other values as they are', () => {
  const t = new Interner();
  const a = ['sha256:', 'abc'].join('');
  const b = ['sha256:a', 'bc'].join('');
  assert.equal(t.intern(a), a);
  assert.equal(t.intern(b), a); // equal strings: the first copy comes back
  assert.equal(t.size, 1);
  assert.equal(t.intern(undefined), undefined);
  assert.equal(t.intern(42), 42);
  const long = 'x'.repeat(300);
  assert.equal(t.intern(long), long);
  assert.equal(t.size, 1, 'long strings are not kept');
});

test('Interner.values: string values of one object, nothing nested, nothing else changed', () => {
  const t = new Interner();
  const o: Record<string, unknown> = { a: 'tcp', b: 1, c: { d: 'tcp' }, e: null };
  t.values(o);
  t.values(null);
  t.values('text');
  assert.deepEqual(o, { a: 'tcp', b: 1, c: { d: 'tcp' }, e: null });
  assert.equal(t.size, 1);
});

test('Interner: a full table starts over and keeps working', () => {
  const t = new Interner();
  for (let i = 0; i < 50_000; i++) t.intern(`v${i}`);
  assert.equal(t.size, 50_000);
  assert.equal(t.intern('new'), 'new');
  assert.equal(t.size, 1);
});
