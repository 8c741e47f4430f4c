// Express's own per-request cost (issue 15: measure it before changing the
// design). The same `GET /_ping` answered by
//   (a) a bare `http.createServer`,
//   (b) a bare Express 5 app with one route,
//   (c) the manager (`swarm manage` child, 1 simulated engine behind it),
// each in a process of its own, at 1 and 4 keep-alive connections: p50/p99,
// req/s and the server's CPU per request (from /proc, so it is the server's alone).
//
//   node dist/bench/expresscost.js [--count 5000] [--runs 3] [--base-port 26800]
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import express from 'express';
import {
  measure, median, ms, num, pool, procCpuMs, sleep, startManagerChild, startSimHost, table, uptimeLoad, type Stats,
} from './lib.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/** Child mode: serve /_ping on the port, bare or through Express. */
function serve(kind: string, port: number): void {
  if (kind === 'express') {
    const app = express();
    app.get('/_ping', (_req, res) => { res.type('text/plain').send('OK'); });
    app.listen(port, '127.0.0.1', () => process.send?.('ready'));
  } else {
    const server = http.createServer((req, res) => {
      if (req.url === '/_ping') { res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 2 }); res.end('OK'); return; }
      res.writeHead(404); res.end();
    });
    server.listen(port, '127.0.0.1', () => process.send?.('ready'));
  }
  process.on('disconnect', () => process.exit(0));
}

async function startServer(kind: 'bare' | 'express', port: number): Promise<{ pid: number; addr: string; stop(): Promise<void> }> {
  const child: ChildProcess = fork(__filename, ['--serve', kind, String(port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (c) => reject(new Error(`${kind} server exited (${c})`)));
  });
  return {
    pid: child.pid!, addr: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await gone;
    },
  };
}

interface Cell { p50: number; p99: number; rps: number; cpuUs: number }

async function measureOne(addr: string, pid: number, conns: number, count: number): Promise<Cell> {
  const p = pool(addr, conns);
  try {
    await measure(p, { count: Math.max(200, count / 10), concurrency: conns, path: () => '/_ping' });
    const c0 = procCpuMs(pid);
    const s: Stats = await measure(p, { count, concurrency: conns, path: () => '/_ping' });
    const cpu = procCpuMs(pid) - c0;
    return { p50: s.p50, p99: s.p99, rps: s.rps, cpuUs: (cpu * 1000) / s.n };
  } finally {
    await p.close();
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const count = arg('--count', 5000);
  const runs = Math.max(1, arg('--runs', 3));
  const base = arg('--base-port', 26800);
  const say = (s: string): void => { process.stdout.write(`[${new Date().toISOString().slice(11, 23)}] ${s}\n`); };
  say(`expresscost: ${count} × GET /_ping per cell after a warm-up, ${runs} run(s), load average ${uptimeLoad()}`);
  const sims = await startSimHost({ count: 1, basePort: base + 3, containers: 30 });
  const bare = await startServer('bare', base + 1);
  const exp = await startServer('express', base + 2);
  const mgr = await startManagerChild({
    port: base + 4, discovery: `nodes://${sims.engines[0].addr}`, logFile: path.join(os.tmpdir(), 'swarm-bench-expresscost-manager.log'),
  });
  const servers = [
    { name: '(a) bare http.createServer', addr: bare.addr, pid: bare.pid },
    { name: '(b) bare Express 5, one route', addr: exp.addr, pid: exp.pid },
    { name: '(c) the manager (swarm manage, 1 engine)', addr: mgr.addr, pid: mgr.pid },
  ];
  try {
    await sleep(1000); // the manager's first load is done (it answered /_ping), let it settle
    const results = new Map<string, Cell[]>();
    for (let r = 1; r <= runs; r++) {
      for (const conns of [1, 4]) {
        for (const s of servers) {
          const c = await measureOne(s.addr, s.pid, conns, count);
          const key = `${s.name}|${conns}`;
          results.set(key, [...(results.get(key) ?? []), c]);
          say(`run ${r}: ${s.name}, ${conns} conn: p50 ${ms(c.p50)} ms, p99 ${ms(c.p99)} ms, ${num(c.rps)} req/s, ${num(c.cpuUs)} CPU-µs/req`);
        }
      }
    }
    const med = (key: string): Cell => {
      const cs = results.get(key)!;
      return { p50: median(cs.map((c) => c.p50)), p99: median(cs.map((c) => c.p99)), rps: median(cs.map((c) => c.rps)), cpuUs: median(cs.map((c) => c.cpuUs)) };
    };
    const rows: string[][] = [];
    for (const conns of [1, 4]) {
      const a = med(`${servers[0].name}|${conns}`);
      for (const s of servers) {
        const c = med(`${s.name}|${conns}`);
        rows.push([s.name, String(conns), ms(c.p50), ms(c.p99), num(c.rps), num(c.cpuUs), s === servers[0] ? '' : `+${ms(c.p50 - a.p50)} ms, +${num(c.cpuUs - a.cpuUs)} µs`]);
      }
    }
    process.stdout.write(`\nGET /_ping, medians of ${runs} run(s), ${count} requests per cell (keep-alive undici Pool; CPU from /proc of the server process, 10 ms ticks):\n\n` +
      table(['server', 'connections', 'p50 ms', 'p99 ms', 'req/s', 'server CPU-µs/req', 'over (a): p50, CPU'], rows) +
      `\n\ntotal ${num((Date.now() - t0) / 1000)} s, load average ${uptimeLoad()}\n`);
  } finally {
    await mgr.stop().catch(() => undefined);
    await bare.stop().catch(() => undefined);
    await exp.stop().catch(() => undefined);
    await sims.stop().catch(() => undefined);
  }
}

if (require.main === module) {
  const at = process.argv.indexOf('--serve');
  if (at >= 0) serve(process.argv[at + 1], Number(process.argv[at + 2]));
  else main().then(() => process.exit(0), (err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(1); });
}
