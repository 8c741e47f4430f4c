// Race: 16 clients at once through the manager for a resource of which only
// a known number fits, on 3 real engines, over --rounds rounds (default 20):
//   port    `-p 8080:80`: on the default bridge each engine binds its own
//           publish IP, so one per engine fits (3);
//   name    one container name: 1;
//   memory  the engines' reservable memory is filled (one created container
//           per engine, `-m` up to what is left, counting classic's <1 %
//           rounding slack) so exactly FREE[i] more `-m 16m` containers fit
//           on engine i (sum: 4).
// Each racer has its own keep-alive connection, opened before the round; all
// 16 creates go out together, each winner is started. Exactly the feasible
// number must be created and started every round; between rounds the winners
// are removed and the engines (asked directly) and the manager must hold none.
//
//   node dist/bench/race.js [--rounds 20] [--clients 16]
//
// Root; cluster block 11 (the bench block; one bench at a time).
import { Client, Pool } from 'undici';
import { table, uptimeLoad } from './lib.js';
import { arg, call, namesWithLabel, startBenchCluster, type Answer } from './realcluster.js';

export type Resource = 'port' | 'name' | 'memory';
export const RESOURCES: Resource[] = ['port', 'name', 'memory'];
const UNIT = 16 * 1024 * 1024;
/** Units of UNIT left free on engine i after filling. */
const FREE = [2, 0, 2];

export interface RoundResult {
  round: number;
  resource: Resource;
  feasible: number;
  /** Created and started. */
  won: number;
  /** Losers' answers: "HTTP status: message" -> count. */
  losers: Record<string, number>;
  /** Winners per engine (asked directly). */
  perEngine: number[];
  /** Anything else wrong (a start that failed, leftovers after cleanup). */
  problems: string[];
}

export const exact = (r: RoundResult): boolean => r.won === r.feasible && r.problems.length === 0;

/** Per resource over all rounds: feasible, rounds exactly right, min/max winners, losers' answers. */
export function raceSummary(results: RoundResult[]): { rows: string[][]; pass: boolean } {
  const rows: string[][] = [];
  let pass = results.length > 0;
  for (const res of RESOURCES) {
    const rs = results.filter((r) => r.resource === res);
    if (!rs.length) continue;
    const ok = rs.filter(exact).length;
    if (ok !== rs.length) pass = false;
    const won = rs.map((r) => r.won);
    const losers: Record<string, number> = {};
    for (const r of rs) for (const [k, v] of Object.entries(r.losers)) losers[k] = (losers[k] ?? 0) + v;
    rows.push([res, String(rs[0].feasible), `${ok}/${rs.length}`, `${Math.min(...won)}..${Math.max(...won)}`,
      Object.entries(losers).map(([k, v]) => `${v}× ${k}`).join('; ') || '-', ok === rs.length ? 'PASS' : 'FAIL']);
  }
  return { rows, pass };
}

function bodyFor(res: Resource, tag: string): any {
  const base = { Image: 'busybox', Cmd: ['sleep', '600'], Labels: { 'com.swarm-classic.bench': tag } };
  if (res === 'port') return { ...base, ExposedPorts: { '80/tcp': {} }, HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '8080' }] } } };
  if (res === 'memory') return { ...base, HostConfig: { Memory: UNIT, NetworkMode: 'none' } };
  return { ...base, HostConfig: { NetworkMode: 'none' } };
}

export async function runRace(o: { rounds: number; clients: number; log?: (s: string) => void }): Promise<{ report: string; pass: boolean }> {
  const say = o.log ?? ((s: string) => process.stdout.write(s + '\n'));
  const runId = `race${Date.now().toString(36)}`;
  const bc = await startBenchCluster({ nodes: 3, name: 'race', log: say });
  const { c, mgr } = bc;
  const loadStart = uptimeLoad();
  const mp = new Pool(`http://${mgr.addr}`, { connections: 4 });
  const eps = c.engines.map((e) => new Pool(`http://${e.addr}`, { connections: 1 }));
  try {
    // ---- fill the memory: FREE[i] units (and half a unit of slack) stay free on engine i
    const st = await mgr.state();
    for (const [i, e] of c.engines.entries()) {
      const n = st.nodes.find((x) => x.addr === e.addr)!;
      // Classic's integer percentages let a node take up to <1 % over its
      // total (src/scheduler/weighted.ts): the edge is 1.01 × total.
      const fill = Math.floor(n.totalMemory * 1.01) - n.reservedMemory - FREE[i] * UNIT - UNIT / 2;
      // In pieces: a request larger than a node's total never fits.
      for (let left = fill, k = 0; left > 0; k++) {
        const piece = Math.min(left, Math.floor(n.totalMemory / 2));
        left -= piece;
        const r = await call(mp, 'POST', `/v1.41/containers/create?name=${runId}-fill-${i}-${k}`, {
          Image: 'busybox', Cmd: ['true'], Env: [`constraint:node==${e.name}`],
          Labels: { 'com.swarm-classic.bench': `${runId}-fill` }, HostConfig: { Memory: piece, NetworkMode: 'none' },
        });
        if (r.status !== 201) throw new Error(`filling ${e.name} with -m ${piece}: HTTP ${r.status} ${r.text}`);
      }
    }
    const filled = await mgr.state();
    say(`memory filled (created, not started): ${filled.nodes.map((n, i) => `${n.name} ${((n.totalMemory * 1.01 - n.reservedMemory) / UNIT).toFixed(2)} units of 16 MiB free (want ${FREE[i]}.5)`).join(', ')}`);
    say(`race ${runId}: ${o.rounds} rounds × ${RESOURCES.join(', ')}, ${o.clients} clients; load at start: ${loadStart}`);

    const results: RoundResult[] = [];
    for (let round = 1; round <= o.rounds; round++) {
      const line: string[] = [];
      for (const res of RESOURCES) {
        const feasible = res === 'port' ? c.engines.length : res === 'name' ? 1 : FREE.reduce((a, b) => a + b, 0);
        const tag = `${runId}-r${round}-${res}`;
        const clients = Array.from({ length: o.clients }, () => new Client(`http://${mgr.addr}`, { pipelining: 1 }));
        try {
          await Promise.all(clients.map((cl) => call(cl, 'GET', '/_ping')));
          const answers: Answer[] = await Promise.all(clients.map((cl, k) => {
            const name = res === 'name' ? `${runId}-r${round}-name` : `${tag}-${k}`;
            return call(cl, 'POST', `/v1.41/containers/create?name=${name}`, bodyFor(res, tag))
              .catch((err: Error) => ({ status: 0, body: undefined, text: err.message }));
          }));
          const problems: string[] = [];
          const losers: Record<string, number> = {};
          const ids: string[] = [];
          for (const a of answers) {
            if (a.status === 201) { ids.push(a.body.Id); continue; }
            const k = `${a.status}: ${String(a.body?.message ?? a.text).replace(/\s+/g, ' ').replace(/[0-9a-f]{64}/g, '<id>').replace(new RegExp(runId + '[-\\w]*', 'g'), '<name>').slice(0, 120)}`;
            losers[k] = (losers[k] ?? 0) + 1;
          }
          const started = await Promise.all(ids.map((id) => call(mp, 'POST', `/v1.41/containers/${id}/start`)));
          let won = 0;
          for (const [k, s] of started.entries()) {
            if (s.status === 204) won++; else problems.push(`start ${ids[k].slice(0, 12)}: HTTP ${s.status} ${s.text.slice(0, 160)}`);
          }
          const perEngine = await Promise.all(eps.map(async (p) => (await namesWithLabel(p, `com.swarm-classic.bench=${tag}`)).length));
          if (res === 'port' && perEngine.some((n) => n > 1)) problems.push(`two port winners on one engine: ${perEngine.join('/')}`);
          // ---- clean up, and check that nothing is left
          for (const id of ids) {
            const r = await call(mp, 'DELETE', `/v1.41/containers/${id}?force=1`);
            if (r.status !== 204) problems.push(`rm ${id.slice(0, 12)}: HTTP ${r.status} ${r.text.slice(0, 160)}`);
          }
          const left = (await Promise.all(eps.map((p) => namesWithLabel(p, `com.swarm-classic.bench=${tag}`)))).flat();
          const leftMgr = await namesWithLabel(mp, `com.swarm-classic.bench=${tag}`);
          if (left.length || leftMgr.length) problems.push(`left after cleanup: engines ${left.join(',') || '-'}, manager ${leftMgr.join(',') || '-'}`);
          const book = await mgr.state();
          if (book.reservations || book.pendingNames) problems.push(`left: ${book.reservations} reservations, ${book.pendingNames} names in flight`);
          const r: RoundResult = { round, resource: res, feasible, won, losers, perEngine, problems };
          results.push(r);
          line.push(`${res} ${won}/${feasible} [${perEngine.join('/')}]${exact(r) ? '' : ' FAIL ' + problems.join('; ')}`);
        } finally {
          await Promise.all(clients.map((cl) => cl.close().catch(() => undefined)));
        }
      }
      say(`  round ${String(round).padStart(2)}: ${line.join(', ')}`);
    }
    const loadEnd = uptimeLoad();
    const sum = raceSummary(results);
    const report = [
      `Race: ${o.clients} clients at once through the manager on 3 real dockerd 20.10 engines, ${o.rounds} rounds; winners = created and started.`,
      `Load (uptime) at start: ${loadStart}; at the end: ${loadEnd}.`,
      '',
      table(['resource', 'feasible', 'rounds exact', 'winners min..max', "losers' answers (all rounds)", 'result'], sum.rows),
      '',
      `race: ${sum.pass ? 'PASS' : 'FAIL'}`,
    ].join('\n');
    return { report, pass: sum.pass };
  } finally {
    await mp.close().catch(() => undefined);
    await Promise.all(eps.map((p) => p.close().catch(() => undefined)));
    await bc.stop();
  }
}

if (require.main === module) {
  runRace({ rounds: arg('--rounds', 20), clients: arg('--clients', 16) })
    .then((r) => { process.stdout.write('\n' + r.report + '\n'); process.exit(r.pass ? 0 : 1); })
    .catch((err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(2); });
}
