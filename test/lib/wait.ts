// Small shared waits for integration tests.
import assert from 'node:assert/strict';
import type { TestCluster } from './cluster.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A bound for a Promise.race: its timer does not keep the test's process alive once the race is won. */
export const bound = (ms: number): Promise<void> => new Promise((r) => { setTimeout(r, ms).unref(); });

/** Poll until ok(fn()) or the deadline passes; returns the last value. */
export async function eventually<V>(fn: () => Promise<V>, ok: (v: V) => boolean, ms = 10_000, step = 200): Promise<V> {
  const end = Date.now() + ms;
  let v = await fn();
  while (!ok(v) && Date.now() < end) {
    await sleep(step);
    v = await fn();
  }
  return v;
}

/** Remove every container through the manager and wait until it lists none. */
export async function removeAllContainers(c: TestCluster): Promise<void> {
  const ids = (await c.docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
  if (ids.length) {
    const r = await c.docker(['rm', '-f', ...ids], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
  }
  const left = await eventually(async () => (await c.docker(['ps', '-aq'])).stdout.trim(), (s) => s === '', 10_000, 100);
  assert.equal(left, '', 'containers left after rm -f');
}
