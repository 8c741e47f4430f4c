// Spawn `swarm manage` (the compiled CLI) as a separate process and wait until
// its API answers /_ping (over mutual TLS when it is started with --tlsverify).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { killAndWait, logTail, pingOk, portAnswers, procCmdline, sleep } from './util.js';
import { readClientTls, tlsFlags, type CertDirs } from './tls.js';

export interface StartManagerOptions {
  /** Listen address, e.g. "127.0.0.1:3375". */
  host: string;
  /** Discovery URL, e.g. "nodes://127.0.0.1:2375,127.0.0.1:2376". */
  discovery: string;
  /** Extra `manage` flags (options only: they follow -H). */
  args?: string[];
  logFile: string;
  /**
   * true: the manager outlives this process (dev-cluster up). false (default):
   * the caller owns it and must stop() it. Either way it gets its own process
   * group, so a terminal Ctrl-C reaches only our cleanup code.
   */
  detached?: boolean;
  /** Wait for /_ping; default 30s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * --tlsverify with this pair (a server certificate, which also carries
   * clientAuth): the manager's listener and its client certificate towards
   * engines. The /_ping wait presents the same pair.
   */
  tls?: CertDirs;
  /** false: --tls instead of --tlsverify (no client certificates asked for, engines not checked). Default true. */
  tlsVerify?: boolean;
}

export interface ManagerProcess {
  pid: number;
  host: string;
  logFile: string;
  stop(): Promise<void>;
}

/** dist/src/cli/main.js, found relative to this compiled file (dist/src/devcluster). */
export function managerMainJs(): string {
  return path.resolve(__dirname, '..', 'cli', 'main.js');
}

/** True if pid is a live `node .../main.js manage ...` process. */
export function isManagerProcess(pid: number): boolean {
  const argv = procCmdline(pid);
  return !!argv && argv.some((a) => a.endsWith('main.js')) && argv.includes('manage');
}

/** A detached `swarm join` agent (token discovery in the dev cluster), logging to logFile. */
export function startJoin(advertise: string, discovery: string, args: string[], logFile: string): number {
  const mainJs = managerMainJs();
  const out = fs.openSync(logFile, 'a');
  const argv = [mainJs, 'join', '--advertise', advertise, ...args, discovery];
  fs.writeSync(out, `\n=== ${new Date().toISOString()} node ${argv.join(' ')} ===\n`);
  const child = spawn(process.execPath, argv, { detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  child.unref();
  if (child.pid === undefined) throw new Error('could not spawn swarm join');
  return child.pid;
}

export async function startManager(opts: StartManagerOptions): Promise<ManagerProcess> {
  const mainJs = managerMainJs();
  if (!fs.existsSync(mainJs)) throw new Error(`${mainJs} not found: build first (npx tsc -p .)`);
  const i = opts.host.lastIndexOf(':');
  // Otherwise a manager already on that port would pass our /_ping wait.
  if (await portAnswers(Number(opts.host.slice(i + 1)), opts.host.slice(0, i))) {
    throw new Error(`cannot start the manager: ${opts.host} is already in use`);
  }
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const out = fs.openSync(opts.logFile, 'a');
  // Discovery goes first: an array-typed -H option would otherwise swallow it.
  const argv = [mainJs, 'manage', opts.discovery, '-H', `tcp://${opts.host}`, ...(opts.tls ? tlsFlags(opts.tls, opts.tlsVerify !== false) : []), ...(opts.args ?? [])];
  const pingTls = opts.tls ? readClientTls(opts.tls) : undefined;
  fs.writeSync(out, `\n=== ${new Date().toISOString()} node ${argv.join(' ')} ===\n`);
  let exitInfo: string | undefined;
  const child = spawn(process.execPath, argv, {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, ...opts.env },
  });
  fs.closeSync(out);
  child.on('error', (err) => (exitInfo = `spawn failed: ${err.message}`));
  child.on('exit', (code, sig) => (exitInfo = `exited with ${sig ?? `code ${code}`}`));
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn the manager');

  const stop = async () => {
    if (isManagerProcess(pid)) await killAndWait([pid], 10_000);
  };
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitInfo) throw new Error(`manager ${exitInfo} before answering /_ping; log ${opts.logFile}:\n${logTail(opts.logFile)}`);
    if (await pingOk(opts.host, 1000, pingTls)) break;
    if (Date.now() > deadline) {
      await stop().catch(() => undefined);
      throw new Error(`manager did not answer GET ${opts.tls ? 'https' : 'http'}://${opts.host}/_ping within ${timeoutMs}ms; log ${opts.logFile}:\n${logTail(opts.logFile)}`);
    }
    await sleep(150);
  }
  return { pid, host: opts.host, logFile: opts.logFile, stop };
}
