// Child process hosting one in-process manager (startManager) for the soak and
// race benches: its RSS and fds are the manager's alone (not the bench
// client's), and it can report the cluster's internal bookkeeping, which the
// API does not show. Forked by startManagerHost(); exits when its parent goes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { parseManageConfig } from '../src/cli/config.js';
import { startManager, type Manager } from '../src/cli/manage.js';

/** What the manager holds besides its container cache (all should be empty when idle). */
export interface ManagerBookkeeping {
  rss: number;
  heapUsed: number;
  fds: number;
  /** Placement reservations of creates in flight, over all engines. */
  reservations: number;
  /** Names claimed by creates/renames in flight. */
  pendingNames: number;
  /** Exec instance -> engine records. */
  execRecords: number;
  /** Containers in the manager's cache, over all engines. */
  cachedContainers: number;
  nodes: Array<{ name: string; addr: string; healthy: boolean; totalMemory: number; reservedMemory: number }>;
}

let mgr: Manager | undefined;

function bookkeeping(m: Manager): ManagerBookkeeping {
  const c = m.cluster;
  const engines = [...c.engines.values()];
  const { reservations, pendingNames, execRecords } = c.bookkeeping();
  const mem = process.memoryUsage();
  return {
    rss: mem.rss, heapUsed: mem.heapUsed,
    fds: fs.readdirSync('/proc/self/fd').length,
    reservations, pendingNames, execRecords,
    cachedContainers: engines.reduce((n, e) => n + e.containers.nodeContainers().length, 0),
    nodes: engines.map((e) => ({ name: e.name, addr: e.addr, healthy: e.healthy, totalMemory: e.totalMemory, reservedMemory: c.placement.reserved(e).memory })),
  };
}

async function handle(m: any): Promise<Record<string, unknown>> {
  switch (m.cmd) {
    case 'start':
      mgr = await startManager(parseManageConfig(m.argv));
      return {};
    case 'state': {
      if (!mgr) throw new Error('manager not started');
      // Forked with --expose-gc: a full collection first gives the live heap.
      const gc = (globalThis as { gc?: () => void }).gc;
      if (m.gc && gc) gc();
      return { state: bookkeeping(mgr) };
    }
    case 'stop':
      await mgr?.stop();
      mgr = undefined;
      setImmediate(() => process.exit(0));
      return {};
    default:
      throw new Error(`unknown command ${m.cmd}`);
  }
}

if (require.main === module) {
  process.on('message', (m: any) => {
    handle(m).then((r) => process.send?.({ id: m.id, ...r }), (err: Error) => process.send?.({ id: m.id, error: err.message }));
  });
  process.on('disconnect', () => process.exit(0));
}

// ---- the parent's side ----------------------------------------------------------

export interface ManagerHost {
  pid: number;
  addr: string;
  logFile: string;
  /** gc: a full collection first (heapUsed is then the live heap). */
  state(gc?: boolean): Promise<ManagerBookkeeping>;
  /** VmRSS from /proc (no IPC round trip). */
  vmRss(): number;
  fds(): number;
  stop(): Promise<void>;
}

/** Fork bench/mgrhost.js and start a manager in it: `argv` as yargs would give it to `swarm manage`. */
export async function startManagerHost(o: { argv: Record<string, unknown>; addr: string; logFile: string }): Promise<ManagerHost> {
  fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
  const out = fs.openSync(o.logFile, 'w');
  const child: ChildProcess = fork(__filename, [], { stdio: ['ignore', out, out, 'ipc'], execArgv: ['--expose-gc'] });
  fs.closeSync(out);
  let seq = 0;
  const waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  child.on('message', (r: any) => {
    const w = waiting.get(r.id);
    if (!w) return;
    waiting.delete(r.id);
    if (r.error) w.reject(new Error(r.error)); else w.resolve(r);
  });
  child.on('exit', (code, sig) => {
    for (const w of waiting.values()) w.reject(new Error(`manager host exited (${sig ?? code}); see ${o.logFile}`));
    waiting.clear();
  });
  const call = (msg: Record<string, unknown>, timeoutMs = 60_000): Promise<any> => new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) { reject(new Error(`manager host exited; see ${o.logFile}`)); return; }
    const id = ++seq;
    const t = setTimeout(() => { waiting.delete(id); reject(new Error(`manager host: no answer to ${String(msg.cmd)} in ${timeoutMs} ms`)); }, timeoutMs);
    waiting.set(id, { resolve: (v) => { clearTimeout(t); resolve(v); }, reject: (e) => { clearTimeout(t); reject(e); } });
    child.send({ ...msg, id });
  });
  try {
    await call({ cmd: 'start', argv: o.argv });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const proc = (f: string): string => fs.readFileSync(`/proc/${child.pid}/${f}`, 'utf8');
  return {
    pid: child.pid!, addr: o.addr, logFile: o.logFile,
    state: async (gc = false) => (await call({ cmd: 'state', gc })).state,
    vmRss: () => { const m = /VmRSS:\s+(\d+) kB/.exec(proc('status')); return m ? Number(m[1]) * 1024 : NaN; },
    fds: () => { try { return fs.readdirSync(`/proc/${child.pid}/fd`).length; } catch { return NaN; } },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      await call({ cmd: 'stop' }, 20_000).catch(() => child.kill('SIGKILL'));
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(t);
    },
  };
}
