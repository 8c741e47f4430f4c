// Liveness pings (src/cluster/liveness.ts): when they go out, what counts as
// a miss, and the cluster-wide budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Liveness, probeInterval, probeKeepMs, quietRefreshInterval, PROBE_SILENCE_MS, PROBES_PER_SECOND } from '../../src/cluster/liveness.js';
import { ProbeInconclusive, type EngineTransport } from '../../src/cluster/transport.js';

type Answer = 'ok' | 'miss' | 'inconclusive';

function fakeTransport(answers: Answer[]) {
  const t = {
    lastAnswerAt: 0,
    probes: 0,
    async probe(): Promise<void> {
      t.probes++;
      const a = answers.shift() ?? 'ok';
      if (a === 'miss') throw new Error('no answer to /_ping within 3 s');
      if (a === 'inconclusive') throw new ProbeInconclusive(900);
      t.lastAnswerAt = Date.now();
    },
  };
  return t;
}

const until = async (ok: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
};

test('the interval: 2 s in small clusters, and at most 2 pings a second cluster-wide; the probe socket outlives it', () => {
  assert.equal(probeInterval(3), PROBE_SILENCE_MS);
  assert.equal(probeInterval(4), PROBE_SILENCE_MS);
  assert.equal(probeInterval(20), 10_000);
  assert.equal(probeInterval(1000), (1000 * 1000) / PROBES_PER_SECOND);
  assert.equal(probeInterval(1000), 500_000);
  assert.equal(probeInterval(5000), 2_500_000);
  // One kept connection per engine for its pings: it must still be open at the next one.
  for (const n of [3, 100, 1000, 5000]) assert.ok(probeKeepMs(probeInterval(n)) > probeInterval(n) || probeInterval(n) > 1_800_000, `${n} engines`);
});

test('quiet refreshes: the classic 30-60 s up to 30 engines, at most 1 a second cluster-wide beyond', () => {
  assert.ok(quietRefreshInterval(3) < 30_000);
  assert.ok(quietRefreshInterval(30) <= 30_000);
  assert.equal(quietRefreshInterval(1000), 1_000_000);
  assert.equal(quietRefreshInterval(5000), 5_000_000);
});

test('a silent engine is pinged; misses are reported, then the recovery; an inconclusive ping counts for nothing', async () => {
  const t = fakeTransport(['miss', 'inconclusive', 'miss', 'ok']);
  const seen: string[] = [];
  const l = new Liveness(t as unknown as EngineTransport, () => 20, {
    miss: () => seen.push(`miss(suspect=${l.suspect})`),
    recovered: () => seen.push(`recovered(suspect=${l.suspect})`),
    suspicion: () => undefined,
  });
  l.start();
  await until(() => seen.length >= 3);
  l.stop();
  assert.deepEqual(seen, ['miss(suspect=true)', 'miss(suspect=true)', 'recovered(suspect=false)']);
  assert.equal(t.probes, 4);
});

test('an engine that answered recently is not pinged', async () => {
  const t = fakeTransport([]);
  t.lastAnswerAt = Date.now() + 60_000; // "answered" throughout the test
  const l = new Liveness(t as unknown as EngineTransport, () => 20, { miss: () => undefined, recovered: () => undefined, suspicion: () => undefined });
  l.start();
  await new Promise((r) => setTimeout(r, 200));
  l.stop();
  assert.equal(t.probes, 0);
});
