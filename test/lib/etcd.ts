// Integration-test helper: one real etcd (Debian package etcd-server,
// /usr/bin/etcd) on loopback ports of the caller's choosing, data in a temp
// dir. Call startEtcd() in before(), stop() in after(). A test process that
// exits or gets SIGINT/SIGTERM without stop() kills it and removes the data dir.
//
//   const etcd = await startEtcd({ clientPort: 23521, peerPort: 23522 });
//   etcd.endpoint        // "127.0.0.1:23521" (for etcd://<endpoint>/path)
//   await etcd.pause()   // SIGSTOP: connections accepted, never answered
//   await etcd.resume()  // SIGCONT
//   await etcd.kill()    // SIGKILL (data dir kept); etcd.start() brings it back
//   await etcd.restart() // kill() + start()
//   await etcd.stop()    // kill it and remove the data dir
//
// With `tls: { ca, cert, key }` (PEM text: the CA that signs client
// certificates, and etcd's own pair) etcd serves clients over https only and
// requires a client certificate from that CA (--client-cert-auth). The
// readiness check presents etcd's own pair as its client certificate, so that
// pair needs clientAuth as well as serverAuth (issueCert's `server: true, client: true`).
// Peers stay plain http: there is only one member.
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';

export const ETCD_BIN = '/usr/bin/etcd';

/** Why etcd tests cannot run here, or undefined (under CI they must run: undefined there). */
export function etcdSkipReason(): string | undefined {
  if (process.env.CI) return undefined;
  if (!fs.existsSync(ETCD_BIN)) return 'etcd not installed (bash .ci/install installs etcd-server)';
  return undefined;
}

export interface EtcdOptions {
  clientPort: number;
  /** Address etcd serves clients on (default 127.0.0.1; a node bridge's address to serve containers). */
  host?: string;
  peerPort: number;
  /** How long to wait for /health (default 20 s). */
  startTimeoutMs?: number;
  /** Serve clients over https with client-certificate auth (PEM text). Plain http without it. */
  tls?: EtcdTls;
}

export interface EtcdTls {
  /** The CA clients' certificates must chain to (--trusted-ca-file). */
  ca: string;
  /** etcd's certificate (--cert-file) and key (--key-file); also the readiness check's client pair. */
  cert: string;
  key: string;
}

export interface TestEtcd {
  /** "<host>:<clientPort>" (127.0.0.1 unless `host` said otherwise) */
  readonly endpoint: string;
  /** "http" or "https" (with `tls`). */
  readonly scheme: 'http' | 'https';
  /** PID of the running etcd (changes on restart). */
  readonly pid: number;
  /** The temp dir: etcd's data in `data/`, the TLS files in `tls/`; removed by stop(). */
  readonly dataDir: string;
  /** SIGSTOP */
  pause(): Promise<void>;
  /** SIGCONT */
  resume(): Promise<void>;
  /** SIGKILL, keeping the data dir. */
  kill(): Promise<void>;
  /** Start again on the same data dir (after kill()); resolves when healthy. */
  start(): Promise<void>;
  /** kill() + start(). */
  restart(): Promise<void>;
  /** Kill it (idempotent) and remove the data dir. */
  stop(): Promise<void>;
}

/** Synchronous cleanups of every etcd not stopped yet, for the exit and signal hooks. */
const live = new Set<() => void>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const cleanAll = (): void => {
    for (const clean of [...live]) clean();
  };
  process.on('exit', cleanAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      cleanAll();
      // Alone (no other helper's hook, e.g. test/lib/cluster.ts's, to exit later): exit as the signal would.
      if (process.listenerCount(sig) === 1) process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

async function healthy(endpoint: string, tls: EtcdTls | undefined): Promise<boolean> {
  if (tls) return healthyTls(endpoint, tls);
  try {
    const res = await fetch(`http://${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return body.health === 'true';
  } catch {
    return false;
  }
}

/**
 * GET /health over https, etcd's own pair as the client certificate (fetch
 * cannot present one). The chain is checked, not the name: a test may give
 * etcd a certificate for another address on purpose.
 */
function healthyTls(endpoint: string, tls: EtcdTls): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(`https://${endpoint}/health`, {
      ca: tls.ca, cert: tls.cert, key: tls.key, agent: false, timeout: 1000, checkServerIdentity: () => undefined,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('error', () => resolve(false));
      res.on('end', () => {
        try { resolve((JSON.parse(body) as { health?: string }).health === 'true'); } catch { resolve(false); }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

export async function startEtcd(o: EtcdOptions): Promise<TestEtcd> {
  hookExit();
  const endpoint = `${o.host ?? '127.0.0.1'}:${o.clientPort}`;
  const peer = `http://127.0.0.1:${o.peerPort}`;
  const scheme = o.tls ? 'https' : 'http';
  if (await healthy(endpoint, o.tls)) throw new Error(`an etcd already answers on ${endpoint} (a leftover from a crashed run?)`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `swarm-etcd-${o.clientPort}-`));
  const args = [
    '--name', 'default', '--data-dir', path.join(dataDir, 'data'),
    '--listen-client-urls', `${scheme}://${endpoint}`, '--advertise-client-urls', `${scheme}://${endpoint}`,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `default=${peer}`,
    '--logger', 'zap', '--log-level', 'warn',
  ];
  if (o.tls) {
    // Beside the data (removed with it), readable by us only.
    const tlsDir = path.join(dataDir, 'tls');
    fs.mkdirSync(tlsDir, { mode: 0o700 });
    const write = (name: string, pem: string): string => {
      const f = path.join(tlsDir, name);
      fs.writeFileSync(f, pem, { mode: 0o600 });
      return f;
    };
    args.push(
      '--client-cert-auth', '--trusted-ca-file', write('ca.pem', o.tls.ca),
      '--cert-file', write('cert.pem', o.tls.cert), '--key-file', write('key.pem', o.tls.key),
    );
  }
  let child: ChildProcess | undefined;
  let stderr = '';

  const launch = async (): Promise<void> => {
    stderr = '';
    const c = spawn(ETCD_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    c.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    const end = Date.now() + (o.startTimeoutMs ?? 20_000);
    while (Date.now() < end) {
      if (c.exitCode !== null || c.signalCode !== null) break;
      if (await healthy(endpoint, o.tls)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    c.kill('SIGKILL');
    await exited(c);
    throw new Error(`etcd on ${endpoint} did not become healthy:\n${stderr}`);
  };

  const kill = async (): Promise<void> => {
    const c = child;
    if (!c) return;
    child = undefined;
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    }
    await exited(c);
  };

  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    if (!child?.pid) throw new Error('etcd is not running');
    process.kill(child.pid, sig);
  };

  const cleanup = (): void => {
    live.delete(cleanup);
    const c = child;
    if (c && c.exitCode === null && c.signalCode === null) {
      try { c.kill('SIGCONT'); c.kill('SIGKILL'); } catch { /* gone */ }
    }
    try { fs.rmSync(dataDir, { recursive: true, force: true }); } catch { /* best effort */ }
  };
  live.add(cleanup);
  try {
    await launch();
  } catch (err) {
    cleanup();
    throw err;
  }

  return {
    endpoint,
    scheme,
    dataDir,
    get pid(): number { return child?.pid ?? -1; },
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    kill,
    start: async () => { if (child) throw new Error('etcd is running'); await launch(); },
    restart: async () => { await kill(); await launch(); },
    stop: async () => {
      await kill();
      cleanup();
    },
  };
}
