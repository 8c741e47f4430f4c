// Real engines (cluster block 11, the bench block: one bench at a time) with
// the manager in a child of its own (bench/mgrhost.ts), for the soak and race
// benches. Engines stop on exit and on SIGINT/SIGTERM (test/lib/cluster.ts).
import * as os from 'node:os';
import * as path from 'node:path';
import type { Dispatcher } from 'undici';
import { clusterBlock, withCluster, type TestCluster } from '../test/lib/cluster.js';
import { startManagerHost, type ManagerHost } from './mgrhost.js';
import { clusterState, pool, sleep } from './lib.js';

export interface BenchCluster {
  c: TestCluster;
  mgr: ManagerHost;
  stop(): Promise<void>;
}

export async function startBenchCluster(o: { nodes: number; name: string; log: (s: string) => void; managerArgs?: Record<string, unknown> }): Promise<BenchCluster> {
  const block = clusterBlock(11);
  o.log(`starting ${o.nodes} dockerd engines (block 11: slots ${block.slotBase}.., ports ${block.basePort}..)`);
  const t0 = Date.now();
  const c = await withCluster({ ...block, nodes: o.nodes, manager: false, names: (i) => `bench-${i}` });
  let mgr: ManagerHost | undefined;
  try {
    const addr = `127.0.0.1:${block.managerPort}`;
    mgr = await startManagerHost({
      addr,
      logFile: path.join(os.tmpdir(), `swarm-bench-${o.name}-manager.log`),
      argv: { discovery: `nodes://${c.engines.map((e) => e.addr).join(',')}`, host: [`tcp://${addr}`], ...o.managerArgs },
    });
    const p = pool(addr, 1);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const st = await clusterState(p).catch(() => undefined);
      if (st?.healthy === o.nodes) break;
      if (Date.now() > deadline) throw new Error(`manager not ready after 60 s: ${JSON.stringify(st)}`);
      await sleep(100);
    }
    await p.close();
    o.log(`engines and manager (pid ${mgr.pid}, log ${mgr.logFile}) up in ${Date.now() - t0} ms`);
  } catch (err) {
    await mgr?.stop().catch(() => undefined);
    await c.stop().catch(() => undefined);
    throw err;
  }
  const m = mgr;
  return {
    c, mgr: m,
    async stop() {
      await m.stop().catch((e: Error) => o.log(`manager stop: ${e.message}`));
      await c.stop().catch((e: Error) => o.log(`engine teardown: ${e.message}`));
    },
  };
}

export interface Answer { status: number; body: any; text: string }

/** One API call; never throws for an HTTP status (transport errors do throw). */
export async function call(p: Dispatcher, method: string, urlPath: string, body?: unknown): Promise<Answer> {
  const res = await p.request({
    method: method as any, path: urlPath,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  let parsed: any;
  try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
  return { status: res.statusCode, body: parsed, text };
}

/** Names (without '/') of all containers on one engine or the manager carrying a label. */
export async function namesWithLabel(p: Dispatcher, label: string): Promise<string[]> {
  const f = encodeURIComponent(JSON.stringify({ label: [label] }));
  const r = await call(p, 'GET', `/v1.41/containers/json?all=1&filters=${f}`);
  if (r.status !== 200) throw new Error(`containers/json: HTTP ${r.status}: ${r.text.slice(0, 200)}`);
  return (r.body as any[]).map((x) => String(x.Names?.[0] ?? '').replace(/^.*\//, ''));
}

export function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} wants a positive number`);
  return v;
}
