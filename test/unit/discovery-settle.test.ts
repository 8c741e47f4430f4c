// Drops held back after a store outage (settleAfterOutage): the first lists
// after a store error may lack entries whose joins are alive and register
// again on their next heartbeat; for the settle time those are kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryError, DiscoveryError, settleAfterOutage } from '../../src/discovery/discovery.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function harness(settleMs: number) {
  const seen: string[] = [];
  const held: string[] = [];
  const s = settleAfterOutage((a) => seen.push(a.join(',')), () => undefined, settleMs, (m) => held.push(m.join(',')));
  return { s, seen, held };
}

test('without an outage a shrunk list goes through at once', () => {
  const { s, seen } = harness(1000);
  s.entries(['a:1', 'b:1']);
  s.entries(['a:1']);
  assert.deepEqual(seen, ['a:1,b:1', 'a:1']);
  s.stop();
});

test('after a store error, a missing entry is kept for the settle time; one that comes back was never dropped', async () => {
  const { s, seen, held } = harness(150);
  s.entries(['a:1', 'b:1']);
  s.error(new DiscoveryError('store away'));
  s.entries(['a:1']); // b's registration lapsed while the store was away
  assert.deepEqual(seen, ['a:1,b:1'], 'b kept');
  assert.deepEqual(held, ['b:1']);
  s.entries(['a:1', 'b:1', 'c:1']); // b registered again; c is new: through at once
  assert.deepEqual(seen, ['a:1,b:1', 'a:1,b:1,c:1']);
  await sleep(250);
  assert.deepEqual(seen, ['a:1,b:1', 'a:1,b:1,c:1'], 'nothing dropped');
  s.stop();
});

test('an entry still missing when the settle time is over is dropped then', async () => {
  const { s, seen } = harness(100);
  s.entries(['a:1', 'b:1']);
  s.error(new DiscoveryError('store away'));
  s.entries(['a:1']);
  assert.deepEqual(seen, ['a:1,b:1']);
  await sleep(200);
  assert.deepEqual(seen, ['a:1,b:1', 'a:1']);
  // The window is over: the next drop goes through at once.
  s.entries([]);
  assert.deepEqual(seen, ['a:1,b:1', 'a:1', '']);
  s.stop();
});

test('a bad entry reported is not an outage', () => {
  const { s, seen } = harness(1000);
  s.entries(['a:1', 'b:1']);
  s.error(new EntryError('ignoring key "x"'));
  s.entries(['a:1']);
  assert.deepEqual(seen, ['a:1,b:1', 'a:1']);
  s.stop();
});
