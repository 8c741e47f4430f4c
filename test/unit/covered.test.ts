// CoveredEvents (src/cluster/covered.ts): which events of a write need no
// re-read of their own, and that nothing else is ever skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoveredEvents } from '../../src/cluster/covered.js';

test("a write's own events are skipped once each, then re-read as usual", () => {
  const c = new CoveredEvents();
  c.expect('a', ['start', 'network:connect'], 1000);
  assert.equal(c.consume('a', 'network:connect', 1001), true);
  assert.equal(c.consume('a', 'start', 1002), true);
  assert.equal(c.consume('a', 'start', 1003), false, 'a second start is a new change');
  assert.equal(c.size, 0);
});

test('any other event of the container ends what was expected of it', () => {
  const c = new CoveredEvents();
  c.expect('a', ['start', 'network:connect'], 1000);
  assert.equal(c.consume('a', 'kill', 1001), false);
  assert.equal(c.consume('a', 'start', 1002), false, 'a start after another change is re-read');
  c.expect('b', ['create'], 1000);
  c.drop('b');
  assert.equal(c.consume('b', 'create', 1001), false, 'dropped (its write re-read failed, or it died)');
});

test('other containers are not affected, and expectations expire', () => {
  const c = new CoveredEvents();
  c.expect('a', ['create'], 1000);
  assert.equal(c.consume('b', 'create', 1001), false);
  assert.equal(c.consume('a', 'create', 1000 + 10_000), false, 'too late: re-read');
  // Old ones go as new ones come.
  for (let i = 0; i < 100; i++) c.expect(`x${i}`, ['create'], 2000);
  c.expect('late', ['create'], 2000 + 10_000);
  assert.equal(c.size, 1);
});
