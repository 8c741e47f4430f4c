// What one `docker run -d` (create, then start) through the manager costs a
// real dockerd: every call the manager makes to the engine, counted by a
// proxy in front of it, per run (block 11: run under the bench lock).
//
//   flock /tmp/swarm-bench.lock node dist/bench/writecalls.js [--runs 20]
//
// Runs are 300 ms apart, so each one's re-reads and events are its own.
import * as os from 'node:os';
import * as path from 'node:path';
import { clusterBlock, withCluster } from '../test/lib/cluster.js';
import { startGate } from '../test/lib/gate.js';
import { startManagerHost } from './mgrhost.js';
import { arg, call } from './realcluster.js';
import { clusterState, pool, sleep } from './lib.js';

async function main(): Promise<void> {
  const runs = arg('--runs', 20);
  const say = (s: string): void => { process.stdout.write(s + '\n'); };
  const block = clusterBlock(11);
  const c = await withCluster({ ...block, nodes: 1, manager: false, names: (i) => `calls-${i}` });
  const gate = await startGate(c.engines[0].addr);
  const counts: Record<string, number> = {};
  let counting = false;
  gate.answer = (req) => {
    if (counting) {
      const k = `${req.method} ${(req.url ?? '').replace(/\?.*/, '').replace(/^\/v[\d.]+/, '').replace(/[0-9a-f]{64}/, '{id}')}`;
      counts[k] = (counts[k] ?? 0) + 1;
    }
    return false; // counted, then passed on
  };
  const addr = `127.0.0.1:${block.managerPort}`;
  const mgr = await startManagerHost({ addr, logFile: path.join(os.tmpdir(), 'swarm-bench-writecalls-manager.log'), argv: { discovery: `nodes://${gate.addr}`, host: [`tcp://${addr}`] } });
  const p = pool(addr, 1);
  const ids: string[] = [];
  try {
    for (let st = await clusterState(p).catch(() => undefined); st?.healthy !== 1; st = await clusterState(p).catch(() => undefined)) await sleep(100);
    const run = async (name: string): Promise<void> => {
      const cr = await call(p, 'POST', `/v1.41/containers/create?name=${name}`, { Image: 'busybox', Cmd: ['sleep', '600'] });
      if (cr.status !== 201) throw new Error(`create: HTTP ${cr.status} ${cr.text}`);
      ids.push(cr.body.Id);
      const s = await call(p, 'POST', `/v1.41/containers/${cr.body.Id}/start`);
      if (s.status !== 204) throw new Error(`start: HTTP ${s.status} ${s.text}`);
      await sleep(300);
    };
    for (let i = 0; i < 2; i++) await run(`calls-warm-${i}`);
    await sleep(1000);
    counting = true;
    for (let i = 0; i < runs; i++) await run(`calls-${i}`);
    await sleep(1500);
    counting = false;
    const rows = Object.entries(counts).sort((a, b) => b[1] - a[1]);
    const total = rows.reduce((n, [, v]) => n + v, 0);
    say(`engine calls per docker run -d (create + start), ${runs} runs on 1 real dockerd: ${(total / runs).toFixed(2)}`);
    for (const [k, v] of rows) say(`  ${k}: ${(v / runs).toFixed(2)}`);
  } finally {
    for (const id of ids) await call(p, 'DELETE', `/v1.41/containers/${id}?force=1`).catch(() => undefined);
    await p.close();
    await mgr.stop().catch(() => undefined);
    gate.close();
    await c.stop().catch(() => undefined);
  }
}

main().then(() => process.exit(0), (err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(1); });
