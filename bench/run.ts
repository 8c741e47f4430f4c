// `npm run bench`: the quick benches — placement (fewer iterations) and the
// API bench against simulated engines (500 requests per row). The full runs:
//   node dist/bench/placement.js
//   node dist/bench/api.js [--real] [--runs 3]                 (issue 15's second table)
//   node dist/bench/scale.js [--engines 100,1000,5000] [--runs 3] (issue 15's first table, growth)
//   node dist/bench/expresscost.js [--runs 3]                  (/_ping: bare http vs Express vs the manager)
//   node dist/bench/access.js [--engines 1000] [--prof]        (issue 17: ps -a under --access-policy, admin vs user; ~2.5 min)
// Figures and how to read them: docs/performance.md. Load and soak (issue 14):
//   node dist/bench/soak.js [--cycles 10000] [--clients 4]   (root; 3 real engines, block 11; ~1 h)
//   node dist/bench/race.js [--rounds 20] [--clients 16]     (root; 3 real engines, block 11)
// soak and race share block 11 with api --real and tls: one at a time.
// Their figures: docs/reliability.md ("Load and soak").
import { runPlacementBench } from './placement.js';
import { runApiBench } from './api.js';

async function main(): Promise<void> {
  const t0 = Date.now();
  process.stdout.write(await runPlacementBench({ sizes: [10, 100, 1000], quick: true }) + '\n\n');
  process.stdout.write(await runApiBench({ real: false, count: 500, warmup: 50, cliRuns: 3, log: () => undefined }) + '\n');
  process.stdout.write(`\nbench done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

main().then(() => process.exit(0), (err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(1); });
