// `docker run -d` as a user runs it (CLI 28, whole command, process start
// included) through the manager and straight to one engine, on 3 real
// dockerd engines (block 11: run under the bench lock).
//
//   flock /tmp/swarm-bench.lock node dist/bench/runcli.js [--rounds 20]
//
// Rounds alternate manager / engine so drift in the machine's load hits both.
import { arg, startBenchCluster } from './realcluster.js';
import { percentile, table } from './lib.js';

async function main(): Promise<void> {
  const rounds = arg('--rounds', 20);
  const say = (s: string): void => { process.stdout.write(s + '\n'); };
  const b = await startBenchCluster({ nodes: 3, name: 'runcli', log: say });
  try {
    const rows: string[][] = [];
    for (const cmd of [['run', '-d', 'busybox', 'true'], ['run', '-d', 'busybox', 'top']]) {
      const via: Record<'manager' | 'engine', number[]> = { manager: [], engine: [] };
      for (let i = 0; i < rounds + 2; i++) {
        for (const where of ['manager', 'engine'] as const) {
          const t0 = performance.now();
          const r = await b.c.docker(cmd, where === 'engine' ? { host: b.c.engines[0].addr } : {});
          const wall = performance.now() - t0;
          if (r.code !== 0) throw new Error(`docker ${cmd.join(' ')} via ${where}: ${r.stderr}`);
          if (i >= 2) via[where].push(wall); // 2 warm-up rounds
        }
      }
      for (const v of Object.values(via)) v.sort((x, y) => x - y);
      const m = percentile(via.manager, 50), e = percentile(via.engine, 50);
      rows.push([`docker ${cmd.join(' ')}`, m.toFixed(1), e.toFixed(1), (m - e).toFixed(1), percentile(via.manager, 90).toFixed(1), percentile(via.engine, 90).toFixed(1)]);
      say(`  docker ${cmd.join(' ')}: manager p50 ${m.toFixed(1)} ms, engine p50 ${e.toFixed(1)} ms`);
    }
    say('');
    say(`docker CLI 28, whole command, ${rounds} rounds alternating manager / engine 0; 3 real dockerd engines. ms.`);
    say(table(['command', 'manager p50', 'engine p50', 'manager - engine', 'manager p90', 'engine p90'], rows));
  } finally {
    await b.stop();
  }
}

main().then(() => process.exit(0), (err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(1); });
