// API latency through the manager vs straight to an engine.
//
//   node dist/bench/api.js            simulated engines (bench/simulator.ts)
//   node dist/bench/api.js --real     3 real dockerd engines (root; slots 110-112, ports 25000-25002, manager 25050)
//   options: --count N (measured requests per row, default 2000), --concurrency N (default 4)
//
// 3 engines × 100 containers; the manager runs as a child process
// (`swarm manage`), the client is a keep-alive undici Pool.
import * as os from 'node:os';
import * as path from 'node:path';
import { startEngines, type EngineSet } from '../src/devcluster/engines.js';
import { spawnReaper } from '../src/devcluster/reap.js';
import {
  clusterState, getJson, kb, measure, ms, num, pool, sleep, startManagerChild, startSimHost, table,
  type ManagerChild, type SimHost, type Stats,
} from './lib.js';

export interface ApiBenchOptions {
  real: boolean;
  count: number;
  concurrency: number;
  warmup: number;
  log?: (s: string) => void;
}

const REAL = { slotBase: 110, basePort: 25000, managerPort: 25050, stateDir: '/tmp/swarm-bench-110' };
const SIM = { basePort: 26000, managerPort: 26050 };
const ENGINES = 3;
const PER_ENGINE = 100;

export async function runApiBench(o: ApiBenchOptions): Promise<string> {
  const say = o.log ?? ((s: string) => process.stdout.write(s + '\n'));
  let set: EngineSet | undefined;
  let sims: SimHost | undefined;
  let mgr: ManagerChild | undefined;
  const onSignal = (): void => { void cleanup().finally(() => process.exit(130)); };
  const cleanup = async (): Promise<void> => {
    await mgr?.stop().catch(() => undefined);
    await sims?.stop().catch(() => undefined);
    await set?.stop().catch((e: Error) => say(`engine teardown: ${e.message}`));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // A crash between start and stop still tears the real engines down.
  const onExit = (): void => { if (set) spawnReaper(REAL.stateDir); };
  if (o.real) process.once('exit', onExit);
  try {
    let addrs: string[];
    let engineIds: string[]; // containers on engine 0
    const t0 = Date.now();
    if (o.real) {
      say(`starting ${ENGINES} dockerd engines (slots ${REAL.slotBase}.., ports ${REAL.basePort}..)`);
      set = await startEngines({ count: ENGINES, slotBase: REAL.slotBase, basePort: REAL.basePort, stateDir: REAL.stateDir, names: (i) => `bench-${i}` });
      addrs = set.engines.map((e) => e.addr);
      say(`engines up in ${Date.now() - t0} ms; creating ${PER_ENGINE} containers on each`);
      const t1 = Date.now();
      await Promise.all(addrs.map(async (a) => {
        const p = pool(a, 8);
        let next = 0;
        await Promise.all(Array.from({ length: 8 }, async () => {
          while (next < PER_ENGINE) {
            const i = next++;
            const res = await p.request({
              method: 'POST', path: `/v1.41/containers/create?name=bench-c${i}`,
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ Image: 'busybox', Cmd: ['true'], Labels: { 'com.example.bench': String(i) } }),
            });
            const text = await res.body.text();
            if (res.statusCode !== 201) throw new Error(`create on ${a}: HTTP ${res.statusCode} ${text}`);
          }
        }));
        await p.close();
      }));
      say(`created ${ENGINES * PER_ENGINE} containers in ${Date.now() - t1} ms`);
      const p0 = pool(addrs[0], 1);
      engineIds = (await getJson(p0, '/containers/json?all=1')).map((c: any) => c.Id);
      await p0.close();
    } else {
      sims = await startSimHost({ count: ENGINES, basePort: SIM.basePort, containers: PER_ENGINE });
      addrs = sims.engines.map((e) => e.addr);
      engineIds = sims.engines[0].ids;
    }

    const managerPort = o.real ? REAL.managerPort : SIM.managerPort;
    const t2 = Date.now();
    mgr = await startManagerChild({
      port: managerPort, discovery: `nodes://${addrs.join(',')}`,
      logFile: path.join(os.tmpdir(), `swarm-bench-api-${o.real ? 'real' : 'sim'}-manager.log`),
    });
    const mp = pool(mgr.addr, o.concurrency);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const st = await clusterState(mp);
      if (st.healthy === ENGINES && st.containers === ENGINES * PER_ENGINE) break;
      if (Date.now() > deadline) throw new Error(`manager not ready after 60s: ${JSON.stringify(st)}`);
      await sleep(50);
    }
    say(`manager ready (3 engines, ${ENGINES * PER_ENGINE} containers cached) ${Date.now() - t2} ms after spawn`);
    const ep = pool(addrs[0], o.concurrency);

    const m = (p: typeof mp, f: (i: number) => string): Promise<Stats> =>
      measure(p, { count: o.count, concurrency: o.concurrency, warmup: o.warmup, path: f });
    const rows: Array<{ name: string; mgr: Stats; eng: Stats; note: string }> = [];
    const row = async (name: string, mf: (i: number) => string, ef: (i: number) => string, note = ''): Promise<void> => {
      const a = await m(mp, mf);
      const b = await m(ep, ef);
      rows.push({ name, mgr: a, eng: b, note });
      say(`  ${name}: manager p50 ${ms(a.p50)} ms, engine p50 ${ms(b.p50)} ms`);
    };
    await mgr.stats(true);
    await row('GET /_ping', () => '/_ping', () => '/_ping');
    await row('GET /containers/{id}/json', (i) => `/v1.41/containers/${engineIds[i % engineIds.length]}/json`, (i) => `/v1.41/containers/${engineIds[i % engineIds.length]}/json`, 'same containers');
    await row('GET /containers/json?all=1', () => '/v1.41/containers/json?all=1', () => '/v1.41/containers/json?all=1', `manager ${ENGINES * PER_ENGINE}, engine ${PER_ENGINE} items`);
    await row('GET /info', () => '/v1.41/info', () => '/v1.41/info');
    const st = await mgr.stats();
    const rss = mgr.vmRss();
    await mp.close();
    await ep.close();

    const out = [
      `API bench, ${o.real ? 'real dockerd 20.10 engines' : 'simulated engines'}: ${ENGINES} engines × ${PER_ENGINE} containers, ` +
        `${o.count} requests per row after ${o.warmup} warm-up, ${o.concurrency} keep-alive connections. Latency in ms.`,
      '',
      table(
        ['request', 'manager p50', 'p99', 'req/s', 'engine p50', 'p99', 'req/s', 'p50 mgr/eng', 'body mgr / eng', 'note'],
        rows.map((r) => [r.name, ms(r.mgr.p50), ms(r.mgr.p99), num(r.mgr.rps), ms(r.eng.p50), ms(r.eng.p99), num(r.eng.rps),
          (r.mgr.p50 / r.eng.p50).toFixed(2), `${kb(r.mgr.bytes)} / ${kb(r.eng.bytes)}`, r.note]),
      ),
      '',
      `manager during the run: VmRSS ${kb(rss)}, heap ${kb(st.heapUsed)}, CPU ${num(st.cpuMs)} ms, event-loop delay p99 ${ms(st.eld.p99)} ms (max ${ms(st.eld.max)})`,
    ].join('\n');
    return out;
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  }
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

if (require.main === module) {
  const count = arg('--count', 2000);
  runApiBench({ real: process.argv.includes('--real'), count, concurrency: arg('--concurrency', 4), warmup: Math.max(50, Math.floor(count / 10)) })
    .then((s) => { process.stdout.write('\n' + s + '\n'); process.exit(0); })
    .catch((err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(1); });
}
