// CoveredEvents (src/cluster/covered.ts): which events of a write need no
// re-read of their own, and that nothing else is ever skipped: every event
// is either read by its write's re-read or re-read on its own.
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoveredEvents } from '../../src/cluster/covered.js';

const START = ['network:connect', 'start'];

/** A CoveredEvents whose released re-reads are recorded. */
function make(): { c: CoveredEvents; released: string[] } {
  const released: string[] = [];
  return { c: new CoveredEvents((id) => released.push(id)), released };
}

test("a write's own events that arrive after its answer are skipped once each, then re-read as usual", () => {
  const { c, released } = make();
  const w = c.begin('a', START, 1000);
  c.expect('a', START, w, 1000);
  assert.equal(c.arrived('a', 'network:connect', 1001), true);
  assert.equal(c.arrived('a', 'start', 1002), true);
  assert.equal(c.size, 0, 'its last event ends it');
  assert.equal(c.arrived('a', 'start', 1003), false, 'a second start is a new change');
  assert.deepEqual(released, []);
});

test('events that arrive while the write is in flight are held, then read by its re-read', () => {
  const { c, released } = make();
  const w = c.begin('a', START, 1000);
  assert.equal(c.arrived('a', 'network:connect', 1001), true, 'held');
  assert.equal(c.arrived('a', 'start', 1002), true, 'held');
  assert.deepEqual(c.pending, { writes: 1, held: 2 });
  c.expect('a', START, w, 1003);
  assert.deepEqual(c.pending, { writes: 0, held: 0 });
  assert.deepEqual(released, [], 'no re-read of their own');
  assert.equal(c.size, 0, 'both arrived: nothing left to expect');
  // `docker network connect n2 a` on the engine, seconds later:
  assert.equal(c.arrived('a', 'network:connect', 3000), false);
  // Only the connect arrived in flight: the start is still expected, and ends it.
  const w2 = c.begin('b', START, 4000);
  assert.equal(c.arrived('b', 'network:connect', 4001), true);
  c.expect('b', START, w2, 4002);
  assert.equal(c.arrived('b', 'network:connect', 4003), false, 'not expected: it had arrived');
  c.expect('b', START, c.begin('b', START, 4004), 4004);
  assert.equal(c.arrived('b', 'start', 4005), true);
  assert.equal(c.size, 0);
  // An arrival from before the write (an older start) does not count as this write's.
  assert.equal(c.arrived('d', 'start', 5000), false);
  const w3 = c.begin('d', ['start'], 5001);
  c.expect('d', ['start'], w3, 5002);
  assert.equal(c.arrived('d', 'start', 5003), true);
  assert.deepEqual(released, []);
});

test('a write that fails releases what it held: each container re-read once', () => {
  const { c, released } = make();
  const w = c.begin('a', START, 1000);
  assert.equal(c.arrived('a', 'network:connect', 1001), true);
  assert.equal(c.arrived('a', 'start', 1002), true);
  c.abandon(w);
  assert.deepEqual(released, ['a']);
  assert.deepEqual(c.pending, { writes: 0, held: 0 });
  c.abandon(w);
  assert.deepEqual(released, ['a'], 'abandon is idempotent');
  c.expect('a', START, w, 1003);
  assert.deepEqual(released, ['a'], 'an ended write ends nothing more');
});

test("only the write's own container and actions are held; other events are re-read at once", () => {
  const { c, released } = make();
  const w = c.begin('a', START, 1000);
  assert.equal(c.arrived('a', 'die', 1001), false, 'not an event of the start');
  assert.equal(c.arrived('b', 'start', 1002), false, 'another container');
  c.expect('a', START, w, 1003);
  assert.deepEqual(released, []);
});

test("a create (ID unknown until answered) holds every create event; another container's is re-read when it ends", () => {
  const { c, released } = make();
  const w = c.begin(undefined, ['create'], 1000);
  assert.equal(c.arrived('x', 'create', 1001), true, 'maybe its own');
  assert.equal(c.arrived('mine', 'create', 1002), true, 'maybe its own');
  assert.equal(c.arrived('mine', 'start', 1003), false, 'not a create');
  c.expect('mine', ['create'], w, 1004);
  assert.deepEqual(released, ['x'], "the other one's create is re-read, its own is not");
  assert.equal(c.arrived('mine', 'create', 1005), false, 'arrived already: not expected');
});

test('an event held by two writes: read if either covers it, re-read only once both ended without', () => {
  const { c, released } = make();
  const w1 = c.begin(undefined, ['create'], 1000);
  const w2 = c.begin(undefined, ['create'], 1000);
  assert.equal(c.arrived('p', 'create', 1001), true);
  assert.equal(c.arrived('q', 'create', 1001), true);
  c.expect('q', ['create'], w1, 1002); // w1 made q
  assert.deepEqual(released, [], 'p may still be w2');
  c.abandon(w2);
  assert.deepEqual(released, ['p']);
  assert.deepEqual(c.pending, { writes: 0, held: 0 });
  // A write begun after an event arrived cannot have made it.
  const { c: c2, released: r2 } = make();
  const w3 = c2.begin(undefined, ['create'], 1000);
  assert.equal(c2.arrived('r', 'create', 1001), true);
  const w4 = c2.begin(undefined, ['create'], 1002);
  c2.abandon(w3);
  assert.deepEqual(r2, ['r'], 'released though w4 is in flight');
  c2.expect('r', ['create'], w4, 1003);
});

test('a write never ended holds nothing past 30 s', () => {
  const { c, released } = make();
  c.begin('a', START, 1000); // never ended (a bug, or a hung engine)
  assert.equal(c.arrived('a', 'start', 1001), true);
  assert.deepEqual(released, []);
  assert.equal(c.arrived('z', 'kill', 1000 + 30_000), false);
  assert.deepEqual(released, ['a'], 'the next arrival after 30 s releases it');
  assert.deepEqual(c.pending, { writes: 0, held: 0 });
  assert.equal(c.arrived('a', 'start', 1000 + 30_001), false, 'and holds no more');
});

test('a write answered after it was taken as failed expects nothing', () => {
  const { c } = make();
  const w = c.begin('a', START, 1000);
  c.arrived('z', 'kill', 1000 + 30_000); // the sweep ends w
  assert.equal(c.arrived('a', 'network:connect', 1000 + 30_001), false, 'not held: re-read');
  c.expect('a', START, w, 1000 + 30_002);
  assert.equal(c.size, 0);
  assert.equal(c.arrived('a', 'start', 1000 + 30_003), false, 're-read: nothing was expected');
});

test('a held event is released after 30 s even if nothing else happens on the engine', (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  t.after(() => mock.timers.reset());
  const { c, released } = make();
  c.begin('a', START); // never ended
  assert.equal(c.arrived('a', 'network:connect'), true);
  mock.timers.tick(29_999);
  assert.deepEqual(released, []);
  mock.timers.tick(1);
  assert.deepEqual(released, ['a']);
  assert.deepEqual(c.pending, { writes: 0, held: 0 });
});

test("a write's own arrivals count however many other events come meanwhile", () => {
  const { c, released } = make();
  const w = c.begin('a', START, 1000);
  assert.equal(c.arrived('a', 'network:connect', 1001), true);
  // a busy engine: health checks of 100 other containers
  for (let i = 0; i < 1000; i++) assert.equal(c.arrived(`o${i % 100}`, ['exec_create', 'exec_start', 'exec_die', 'health_status'][i % 4], 1002), false);
  c.expect('a', START, w, 1003);
  assert.deepEqual(released, []);
  // the connect had arrived: not expected, so `docker network connect n2 a` later is re-read
  assert.equal(c.arrived('a', 'network:connect', 1004), false);
});

test('any other event of the container ends what was expected of it; so does a failed re-read', () => {
  const { c } = make();
  c.expect('a', START, c.begin('a', START, 1000), 1000);
  assert.equal(c.arrived('a', 'kill', 1001), false);
  assert.equal(c.arrived('a', 'start', 1002), false, 'a start after another change is re-read');
  c.expect('b', ['create'], c.begin(undefined, ['create'], 1000), 1000);
  c.drop('b');
  assert.equal(c.arrived('b', 'create', 1001), false);
});

test('other containers are not affected, and expectations expire', () => {
  const { c } = make();
  c.expect('a', ['create'], c.begin(undefined, ['create'], 1000), 1000);
  assert.equal(c.arrived('b', 'create', 1001), false);
  assert.equal(c.arrived('a', 'create', 1000 + 10_000), false, 'too late: re-read');
  for (let i = 0; i < 100; i++) c.expect(`x${i}`, ['create'], c.begin(undefined, ['create'], 2000), 2000);
  c.expect('late', ['create'], c.begin(undefined, ['create'], 2000 + 10_000), 2000 + 10_000);
  assert.equal(c.size, 1, 'old ones go as new ones come');
});
