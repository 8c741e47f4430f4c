// Benchmarks are not run in CI, but they must keep compiling and running
// against the real Engine and Scheduler: a quick placement run at 10 nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPlacementBench } from '../../bench/placement.js';

test('bench/placement runs against the real Engine cache and Scheduler', async () => {
  const out = await runPlacementBench({ sizes: [10], quick: true });
  assert.match(out, /\| 10 +\| plain/);
});
