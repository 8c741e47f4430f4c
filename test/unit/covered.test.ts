// CoveredEvents (src/cluster/covered.ts): which events of a write need no
// re-read of their own, and that nothing else is ever skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoveredEvents } from '../../src/cluster/covered.js';

const START = ['network:connect', 'start'];

test("a write's own events that arrive after its answer are skipped once each, then re-read as usual", () => {
  const c = new CoveredEvents();
  const mark = c.mark;
  c.expect('a', START, mark, 1000);
  assert.equal(c.arrived('a', 'network:connect', 1001), true);
  assert.equal(c.arrived('a', 'start', 1002), true);
  assert.equal(c.size, 0, 'its last event ends it');
  assert.equal(c.arrived('a', 'start', 1003), false, 'a second start is a new change');
});

test('events that arrived before the answer were re-read already: not expected, so a later one is not skipped', () => {
  const c = new CoveredEvents();
  const mark = c.mark;
  c.arrived('a', 'network:connect');
  c.arrived('a', 'start'); // both before the answer
  c.expect('a', START, mark, 1000);
  assert.equal(c.size, 0);
  // `docker network connect n2 a` on the engine, seconds later:
  assert.equal(c.arrived('a', 'network:connect', 3000), false);
  // Only the connect arrived early: the start is still expected, and ends it.
  const m2 = c.mark;
  c.arrived('b', 'network:connect');
  c.expect('b', START, m2, 1000);
  assert.equal(c.arrived('b', 'network:connect', 1001), false, 'not expected: it had arrived');
  c.expect('b', START, m2, 1000);
  assert.equal(c.arrived('b', 'start', 1002), true);
  assert.equal(c.size, 0);
  // An arrival from before the write (an older start) does not count as this write's.
  c.arrived('d', 'start');
  const m3 = c.mark;
  c.expect('d', ['start'], m3, 1000);
  assert.equal(c.arrived('d', 'start', 1001), true);
});

test('any other event of the container ends what was expected of it; so does a failed re-read', () => {
  const c = new CoveredEvents();
  c.expect('a', START, c.mark, 1000);
  assert.equal(c.arrived('a', 'kill', 1001), false);
  assert.equal(c.arrived('a', 'start', 1002), false, 'a start after another change is re-read');
  c.expect('b', ['create'], c.mark, 1000);
  c.drop('b');
  assert.equal(c.arrived('b', 'create', 1001), false);
});

test('other containers are not affected, and expectations expire', () => {
  const c = new CoveredEvents();
  c.expect('a', ['create'], c.mark, 1000);
  assert.equal(c.arrived('b', 'create', 1001), false);
  assert.equal(c.arrived('a', 'create', 1000 + 10_000), false, 'too late: re-read');
  for (let i = 0; i < 100; i++) c.expect(`x${i}`, ['create'], c.mark, 2000);
  c.expect('late', ['create'], c.mark, 2000 + 10_000);
  assert.equal(c.size, 1, 'old ones go as new ones come');
});
