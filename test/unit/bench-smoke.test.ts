// Benchmarks are not run in CI, but they must keep compiling and running
// against the real Engine and Scheduler: a quick placement run at 10 nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPlacementBench } from '../../bench/placement.js';

test('bench/placement runs against the real Engine cache and Scheduler', async () => {
  const out = await runPlacementBench({ sizes: [10], quick: true });
  assert.match(out, /\| 10 +\| plain/);
});

// The soak and race benches need real engines; their verdicts are pure.
test('bench/soak verdicts: RSS band, flat fds, unique names', async () => {
  const { rssVerdict, fdVerdict, duplicates } = await import('../../bench/soak.js');
  const mb = 1024 * 1024;
  const s = (cycle: number, rss: number, fds: number) => ({ cycle, sec: cycle, rss: rss * mb, fds });
  const steady = [s(0, 80, 30), s(500, 100, 40), s(1000, 104, 41), s(1500, 97, 39), s(2000, 102, 40)];
  assert.equal(rssVerdict(steady, 500).pass, true);
  assert.equal(rssVerdict(steady, 500).base, 100 * mb, 'the warm-up sample is the base, not the start');
  assert.equal(rssVerdict([...steady, s(2500, 111, 40)], 500).pass, false, 'ends 11 % up');
  const dip = Array.from({ length: 20 }, (_, i) => s(500 + i * 100, i === 7 ? 80 : 100 + (i % 3), 40));
  assert.equal(rssVerdict(dip, 500).pass, true, 'one low sample (memory handed back) is not a leak');
  const climb = Array.from({ length: 20 }, (_, i) => s(500 + i * 100, 100 + i, 40));
  assert.equal(rssVerdict(climb, 500).pass, false, 'a steady climb of 19 % is');
  assert.equal(rssVerdict([s(0, 80, 30)], 500).pass, false, 'no sample after warm-up: no verdict');
  assert.equal(fdVerdict(steady, 500).pass, true);
  const leak = Array.from({ length: 20 }, (_, i) => s(500 + i * 100, 100, 40 + i));
  assert.equal(fdVerdict(leak, 500).pass, false);
  assert.deepEqual(duplicates(['a', 'b', 'a', 'c', 'b']), ['a', 'b']);
  assert.deepEqual(duplicates(['a', 'b']), []);
});

test('bench/race summary: every round exactly the feasible number', async () => {
  const { raceSummary } = await import('../../bench/race.js');
  const r = (round: number, resource: 'port' | 'name' | 'memory', feasible: number, won: number, problems: string[] = []) =>
    ({ round, resource, feasible, won, losers: { '409: Conflict': 16 - won }, perEngine: [], problems });
  const good = [r(1, 'port', 3, 3), r(1, 'name', 1, 1), r(1, 'memory', 4, 4), r(2, 'port', 3, 3), r(2, 'name', 1, 1), r(2, 'memory', 4, 4)];
  const ok = raceSummary(good);
  assert.equal(ok.pass, true);
  assert.deepEqual(ok.rows.map((x) => [x[0], x[2], x[3]]), [['port', '2/2', '3..3'], ['name', '2/2', '1..1'], ['memory', '2/2', '4..4']]);
  assert.equal(raceSummary([...good, r(3, 'name', 1, 2)]).pass, false, 'two winners for one name');
  assert.equal(raceSummary([...good, r(3, 'memory', 4, 4, ['left after cleanup'])]).pass, false);
  assert.equal(raceSummary([]).pass, false);
});
