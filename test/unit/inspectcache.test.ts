// The inspect cache's rules, on a fake clock and a fake engine (the real path: api-sim.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InspectCache, MAX_AGE_MS, QUIET_MS, type InspectReply, type InspectSource } from '../../src/cluster/inspectcache.js';

function rig(maxBytes?: number) {
  let t = 1_000_000;
  const cache = new InspectCache(maxBytes, () => t);
  const src: { streamEpoch: number; suspect: boolean; suspicions: number } = { streamEpoch: 1, suspect: false, suspicions: 0 };
  let calls = 0;
  const ask = (body = '{"Id":"a"}', status = 200) => async (): Promise<InspectReply> => { calls++; return { status, body: Buffer.from(body) }; };
  return {
    cache, src,
    calls: () => calls,
    tick: (ms: number) => { t += ms; },
    get: (id = 'a', s: InspectSource = src, facts = 'f', body?: string, status?: number) => cache.answer(id, s, facts, ask(body, status)),
  };
}

test('a container asked again with nothing changed is answered from memory from its third inspect; one asked once is not kept', async () => {
  const r = rig();
  assert.equal((await r.get()).body.toString(), '{"Id":"a"}');
  assert.equal(r.cache.size, 0, 'asked once: not kept');
  assert.equal((await r.get()).body.toString(), '{"Id":"a"}');
  assert.equal(r.cache.size, 1, 'asked again: kept');
  assert.equal((await r.get()).body.toString(), '{"Id":"a"}');
  assert.equal(r.calls(), 2);
  assert.equal(r.cache.hits, 1);
  r.tick(MAX_AGE_MS + 1);
  await r.get('b');
  await r.get('b');
  await r.get('b');
  assert.equal(r.calls(), 4);
  r.tick(MAX_AGE_MS + 1);
  await r.get('b');
  await r.get('b');
  assert.equal(r.calls(), 6, 'asked again only after MAX_AGE_MS: a first ask again, not kept');
  await r.get('b');
  assert.equal(r.calls(), 6);
});

test('an event of the container drops its answer, and answers within the quiet window after it are not kept', async () => {
  const r = rig();
  await r.get();
  r.cache.changed('a');
  await r.get('a', r.src, 'f', '{"Id":"a","v":2}');
  assert.equal(r.calls(), 2);
  r.tick(QUIET_MS - 1);
  await r.get();
  assert.equal(r.calls(), 3, 'still in the quiet window: asked again');
  r.tick(2);
  await r.get();
  await r.get();
  assert.equal(r.calls(), 4, 'after the window: kept');
  r.cache.changed('b');
  await r.get();
  assert.equal(r.calls(), 4, "another container's event changes nothing");
});

test('an event or a write while the engine is asked: the answer is not kept', async () => {
  const r = rig();
  await r.get(); // asked once before: the next answer may be kept
  let release!: () => void;
  const held = new Promise<void>((res) => { release = res; });
  const first = r.cache.answer('a', r.src, 'f', async () => { await held; return { status: 200, body: Buffer.from('old') }; });
  r.cache.changed('a');
  release();
  assert.equal((await first).body.toString(), 'old');
  r.tick(QUIET_MS);
  await r.get();
  assert.equal(r.calls(), 2, 'the stale answer was not kept');

  const w = rig();
  await w.get();
  let go!: () => void;
  const wait = new Promise<void>((res) => { go = res; });
  const p = w.cache.answer('a', w.src, 'f', async () => { await wait; return { status: 200, body: Buffer.from('before the write') }; });
  w.cache.noteWrite();
  go();
  await p;
  assert.equal((await w.get()).body.toString(), '{"Id":"a"}');
  assert.equal(w.calls(), 2);
});

test('a write through the manager drops every kept answer', async () => {
  const r = rig();
  for (const id of ['a', 'a', 'b', 'b']) await r.get(id);
  assert.equal(r.cache.size, 2);
  r.cache.noteWrite();
  assert.equal(r.cache.size, 0);
  await r.get('a');
  assert.equal(r.calls(), 5);
});

test("a write on one engine drops that engine's answers and calls in flight only", async () => {
  const r = rig();
  const other: InspectSource = { streamEpoch: 1, suspect: false, suspicions: 0 };
  for (const id of ['a', 'a']) await r.get(id);
  for (const id of ['b', 'b']) await r.get(id, other);
  assert.equal(r.cache.size, 2);
  let go!: () => void;
  const wait = new Promise<void>((res) => { go = res; });
  const flight = r.cache.answer('c', other, 'f', async () => { await wait; return { status: 200, body: Buffer.from('{"Id":"c"}') }; });
  const mine = r.cache.answer('d', r.src, 'f', async () => { await wait; return { status: 200, body: Buffer.from('{"Id":"d"}') }; });
  r.cache.noteWrite(r.src);
  assert.equal(r.cache.size, 1, "the other engine's answer stands");
  const calls = r.calls();
  await r.get('b', other);
  assert.equal(r.calls(), calls, 'b: from memory');
  await r.get('a');
  assert.equal(r.calls(), calls + 1, 'a: asked again');
  // A call in flight on the written engine is not joined after the write; one on the other engine is.
  const joined = r.cache.answer('c', other, 'f', async () => { throw new Error('not joined'); });
  const fresh = r.get('d', r.src, 'f', '{"Id":"d","v":2}');
  go();
  await flight;
  await mine;
  assert.equal((await joined).body.toString(), '{"Id":"c"}');
  assert.equal((await fresh).body.toString(), '{"Id":"d","v":2}');
});

test('inspects at once share one call, unless the first was asked before a change', async () => {
  const r = rig();
  const [x, y] = await Promise.all([r.get(), r.get()]);
  assert.equal(r.calls(), 1);
  assert.equal(x.body, y.body);

  const s = rig();
  let go!: () => void;
  const wait = new Promise<void>((res) => { go = res; });
  const first = s.cache.answer('a', s.src, 'f', async () => { await wait; return { status: 200, body: Buffer.from('old') }; });
  s.cache.noteWrite();
  const second = s.get('a', s.src, 'f', 'new');
  go();
  assert.equal((await first).body.toString(), 'old');
  assert.equal((await second).body.toString(), 'new', 'asked after the write: not joined to the call before it');
  assert.equal(s.calls(), 1);
});

test('a lost or resumed event stream, an unanswered ping, other node facts or old age: asked again', async () => {
  const r = rig();
  await r.get(); // a first ask: not kept
  r.cache.misses = 0;
  const calls0 = r.calls();
  await r.get();
  await r.get();
  assert.equal(r.calls() - calls0, 1, 'kept');
  r.src.streamEpoch = -1;
  await r.get();
  assert.equal(r.calls() - calls0, 2, 'stream closed');
  await r.get();
  assert.equal(r.calls() - calls0, 3, 'nothing kept while it is closed');
  r.src.streamEpoch = 2;
  await r.get();
  await r.get();
  assert.equal(r.calls() - calls0, 4, 'kept again on the resumed stream');
  r.src.streamEpoch = 3;
  await r.get();
  assert.equal(r.calls() - calls0, 5, 'resumed once more: events may have been missed');

  r.src.suspect = true;
  r.src.suspicions++;
  await r.get();
  assert.equal(r.calls() - calls0, 6, 'suspect');
  r.src.suspect = false;
  await r.get();
  await r.get();
  assert.equal(r.calls() - calls0, 7, 'kept again once pings are answered');
  r.src.suspicions++; // a ping missed and one answered since: the stream may lag behind
  await r.get();
  assert.equal(r.calls() - calls0, 8, 'a suspicion came and went');
  await r.get('a', r.src, 'other facts');
  assert.equal(r.calls() - calls0, 9, 'node facts changed');
  await r.get('a', { streamEpoch: 3, suspect: false, suspicions: 2 }, 'other facts');
  assert.equal(r.calls() - calls0, 10, 'another engine');
  r.tick(MAX_AGE_MS + 1);
  await r.get();
  assert.equal(r.calls() - calls0, 11, 'too old');
});

test('kept: only a 200 without a health check; a failed call is not kept and is not shared later', async () => {
  const r = rig();
  for (let i = 0; i < 3; i++) await r.get('a', r.src, 'f', '{"State":{"Health":{"Status":"healthy","Log":[]}}}');
  assert.equal(r.calls(), 3);
  for (let i = 0; i < 3; i++) await r.get('n', r.src, 'f', '{"message":"No such container: n"}', 404);
  assert.equal(r.calls(), 6);
  await r.get('e');
  await assert.rejects(r.cache.answer('e', r.src, 'f', async () => { throw new Error('engine down'); }), /engine down/);
  await r.get('e');
  assert.equal(r.calls(), 8);
  for (let i = 0; i < 3; i++) await r.get('h', r.src, 'f', '{"Config":{"Labels":{"Health":"x"}},"State":{"Health":null}}');
  assert.equal(r.calls(), 10, 'a label named Health or a null Health is kept');
});

test('bounded in bytes: the least recently used answer goes first', async () => {
  const r = rig(400);
  const body = 'x'.repeat(100);
  for (const id of ['a', 'b', 'c', 'd']) { await r.get(id, r.src, 'f', body); await r.get(id, r.src, 'f', body); }
  assert.equal(r.cache.keptBytes, 400);
  await r.get('a', r.src, 'f', body); // used: now the newest
  await r.get('e', r.src, 'f', body);
  await r.get('e', r.src, 'f', body);
  assert.equal(r.cache.size, 4);
  assert.ok(r.cache.keptBytes <= 400);
  const before = r.calls();
  await r.get('a', r.src, 'f', body);
  assert.equal(r.calls(), before, 'a was kept');
  await r.get('b', r.src, 'f', body);
  assert.equal(r.calls(), before + 1, 'b, the oldest use, went');
  for (let i = 0; i < 3; i++) await r.get('big', r.src, 'f', 'y'.repeat(200));
  assert.equal(r.calls(), before + 4, 'an answer over a quarter of the budget is not kept');
});

test('event times are pruned once past the quiet window', async () => {
  const r = rig();
  for (let i = 0; i < 5_000; i++) r.cache.changed(`c${i}`);
  r.tick(QUIET_MS + 1);
  r.cache.changed('last');
  for (let i = 0; i < 3; i++) await r.get('c1');
  assert.equal(r.calls(), 2, 'an old event no longer holds the answer back');
});

test('two calls that overlapped: the answer asked later stays, whichever ends last', async () => {
  const r = rig();
  await r.get('a', r.src, 'facts 1');
  let endOld!: () => void;
  const held = new Promise<void>((res) => { endOld = res; });
  const older = r.cache.answer('a', r.src, 'facts 1', async () => { await held; return { status: 200, body: Buffer.from('older') }; });
  r.tick(1);
  // The node's facts changed meanwhile: not joined, asked anew.
  assert.equal((await r.get('a', r.src, 'facts 2', 'newer')).body.toString(), 'newer');
  endOld();
  await older;
  assert.equal((await r.get('a', r.src, 'facts 2')).body.toString(), 'newer');
  assert.equal(r.calls(), 2);
});
