// Integration-test helper: real dockerd engines (+ optionally the manager) for
// one test file. Call once in before(), stop() in after(). Allocations per file
// are in test/lib/README.md; use clusterBlock(n) to get them.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { startEngines, type Engine, type EngineSet } from '../../src/devcluster/engines.js';
import { startManager, type ManagerProcess } from '../../src/devcluster/manager.js';
import { spawnReaper } from '../../src/devcluster/reap.js';
import { recordManager } from '../../src/devcluster/state.js';
import { certsDir, issueClientBundle, issueManagerCert, type CertDirs, type KeyPair, type Sans } from '../../src/devcluster/tls.js';
import { createCA } from '../../src/certs/index.js';

export const DOCKER_CLI_NEW = '/usr/local/bin/docker'; // CLI 28
export const DOCKER_CLI_OLD = '/usr/bin/docker'; // CLI 20.10, matches the engines

export interface ClusterBlock {
  slotBase: number;
  basePort: number;
  managerPort: number;
}

/** Block n (1..15) of slots/ports: slots 10n.., engine ports 23600+100n.., manager 23650+100n. */
export function clusterBlock(n: number): ClusterBlock {
  if (!Number.isInteger(n) || n < 1 || n > 15) throw new Error(`cluster block must be 1..15, got ${n}`);
  return { slotBase: 10 * n, basePort: 23600 + 100 * n, managerPort: 23650 + 100 * n };
}

export interface ClusterOptions extends ClusterBlock {
  /** Engines, at most 4 (keep the 2-core machine responsive). */
  nodes: number;
  /** Engine labels: a function of the index, or one map per engine. */
  labels?: ((i: number) => Record<string, string>) | Record<string, string>[];
  names?: (i: number) => string;
  /** Extra `swarm manage` flags (before the discovery URL). */
  managerArgs?: string[];
  /** Start the manager (default true). */
  manager?: boolean;
  /** Override the discovery URL (default nodes://<all engines>). */
  discovery?: string;
  /**
   * Mutual TLS: engines and the manager with --tlsverify, one CA; docker()
   * then sets DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. `sans(i)` replaces
   * engine i's SANs (e.g. a certificate for the wrong host).
   */
  tls?: boolean | { sans?: (i: number) => Sans | undefined; ca?: KeyPair };
  /** Engines also serve their API on their bridge address (Engine.bridgeAddr), for `swarm` containers. */
  bridgeApi?: boolean;
}

/** A TLS cluster's certificates, all under <stateDir>/certs. */
export interface ClusterTls {
  /** The CA (ca.pem, ca-key.pem) and every pair's directory. */
  certsDir: string;
  ca: KeyPair;
  /** Client bundle: DOCKER_CERT_PATH for the CLIs; ca/cert/key for dockerode and docker-py. */
  client: CertDirs;
  /** The manager's pair (server and client certificate). */
  manager: CertDirs;
}

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DockerOptions {
  /** 'new' = CLI 28 (default), 'old' = CLI 20.10. */
  cli?: 'new' | 'old';
  input?: string;
  timeoutMs?: number;
  /** Talk to this "host:port" (e.g. an engine's addr) instead of the manager. */
  host?: string;
  env?: NodeJS.ProcessEnv;
  /** DOCKER_TLS_VERIFY=1 with this DOCKER_CERT_PATH (a TLS cluster's docker() sets it). */
  certPath?: string;
  /** In a TLS cluster: talk plain HTTP anyway. */
  plain?: boolean;
}

export interface TestCluster {
  engines: Engine[];
  /** Raw engine control: stopEngine / restartEngine / pauseEngine / resumeEngine. */
  set: EngineSet;
  manager?: ManagerProcess;
  /** "127.0.0.1:PORT" of the manager. */
  managerAddr: string;
  /** "tcp://127.0.0.1:PORT" of the manager. */
  dockerHost: string;
  stateDir: string;
  /** Set when started with tls. */
  tls?: ClusterTls;
  /** DOCKER_CONFIG for the CLIs (see dockerCommand()). */
  dockerConfig: string;
  docker(args: string[], opts?: DockerOptions): Promise<DockerResult>;
  stop(): Promise<void>;
}

/** Why integration tests can't run here, or undefined. Under CI they must run: undefined there. */
export function skipReason(): string | undefined {
  if (process.env.CI) return undefined;
  if (process.getuid?.() !== 0) return 'needs root (starts dockerd, creates bridges)';
  if (!fs.existsSync('/usr/sbin/dockerd')) return 'dockerd not installed (bash .ci/install)';
  if (!fs.existsSync('/bin/busybox')) return 'busybox-static not installed (bash .ci/install)';
  return undefined;
}

// ---- crash cleanup ------------------------------------------------------------

const live = new Map<string, () => Promise<void>>();
let hooked = false;

function hookProcess(): void {
  if (hooked) return;
  hooked = true;
  // 'exit' can't await: hand each leftover cluster to a detached reaper process.
  process.on('exit', () => {
    for (const dir of live.keys()) spawnReaper(dir);
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      const stops = [...live.values()].map((s) => s().catch(() => undefined));
      const cap = new Promise((r) => setTimeout(r, 45_000).unref());
      void Promise.race([Promise.all(stops), cap]).finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    });
  }
}

// ---- the cluster ----------------------------------------------------------------

export async function withCluster(opts: ClusterOptions): Promise<TestCluster> {
  if (opts.nodes > 4) throw new Error('keep test clusters to at most 4 engines');
  hookProcess();
  const stateDir = path.join(os.tmpdir(), `swarm-it-${opts.slotBase}`);
  const labels = opts.labels;
  // During startup only the 'exit' hook's reaper can clean up (state.json is written before any spawn).
  live.set(stateDir, async () => undefined);
  const ca = opts.tls ? (typeof opts.tls === 'object' && opts.tls.ca) || createCA({ commonName: `swarm test CA ${opts.slotBase}` }) : undefined;
  // On failure startEngines already tore down; the 'exit' reaper double-checks.
  const set: EngineSet = await startEngines({
    count: opts.nodes,
    slotBase: opts.slotBase,
    basePort: opts.basePort,
    stateDir,
    names: opts.names,
    labels: typeof labels === 'function' ? labels : (i) => labels?.[i] ?? {},
    tls: ca ? { ca, sans: typeof opts.tls === 'object' ? opts.tls.sans : undefined } : undefined,
    bridgeApi: opts.bridgeApi,
  });
  const managerAddr = `127.0.0.1:${opts.managerPort}`;
  let manager: ManagerProcess | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // SWARM_IT_KEEP_LOGS=<dir>: the manager's log outlives the run there (chasing an intermittent failure).
    const keep = process.env.SWARM_IT_KEEP_LOGS;
    if (keep && manager) {
      fs.mkdirSync(keep, { recursive: true });
      fs.copyFileSync(manager.logFile, path.join(keep, `manager-${opts.slotBase}-${Date.now()}.log`));
    }
    // teardownState stops the manager recorded in state.json before the engines.
    await set.stop();
    live.delete(stateDir);
  };
  live.set(stateDir, stop);

  let tls: ClusterTls | undefined;
  if (ca) {
    try {
      const dir = certsDir(stateDir);
      tls = { certsDir: dir, ca, manager: issueManagerCert(dir), client: issueClientBundle(dir, `tcp://${managerAddr}`) };
    } catch (err) {
      await stop().catch(() => undefined);
      throw err;
    }
  }

  if (opts.manager !== false) {
    try {
      manager = await startManager({
        tls: tls?.manager,
        host: managerAddr,
        discovery: opts.discovery ?? `nodes://${set.engines.map((e) => e.addr).join(',')}`,
        args: opts.managerArgs,
        logFile: path.join(stateDir, 'manager.log'),
      });
      recordManager(stateDir, { pid: manager.pid, host: managerAddr, logFile: manager.logFile });
    } catch (err) {
      await stop().catch(() => undefined);
      throw err;
    }
  }

  const dockerConfig = path.join(stateDir, 'docker-config');
  fs.mkdirSync(dockerConfig, { recursive: true });
  const docker = (args: string[], o: DockerOptions = {}) =>
    runDocker(args, { certPath: o.plain ? undefined : tls?.client.dir, ...o, host: o.host ?? managerAddr }, dockerConfig);

  return { engines: set.engines, set, manager, managerAddr, dockerHost: `tcp://${managerAddr}`, stateDir, tls, dockerConfig, docker, stop };
}

/** The docker CLI binary and environment for DOCKER_HOST=tcp://host (TLS with o.certPath). */
export function dockerCommand(o: DockerOptions & { host: string }, dockerConfig?: string): { bin: string; env: NodeJS.ProcessEnv } {
  const bin = o.cli === 'old' ? DOCKER_CLI_OLD : DOCKER_CLI_NEW;
  const env: NodeJS.ProcessEnv = { ...process.env, ...o.env, DOCKER_HOST: `tcp://${o.host}`, DOCKER_CLI_HINTS: 'false' };
  // Nothing from the developer's own docker setup may redirect or alter the call.
  delete env.DOCKER_CONTEXT;
  delete env.DOCKER_TLS_VERIFY;
  delete env.DOCKER_CERT_PATH;
  delete env.DOCKER_API_VERSION;
  if (o.certPath && !o.plain) {
    env.DOCKER_TLS_VERIFY = '1';
    env.DOCKER_CERT_PATH = o.certPath;
  }
  if (dockerConfig) env.DOCKER_CONFIG = dockerConfig;
  return { bin, env };
}

/** Run a docker CLI against DOCKER_HOST=tcp://host (TLS with o.certPath); never throws on non-zero exit. */
export function runDocker(args: string[], o: DockerOptions & { host: string }, dockerConfig?: string): Promise<DockerResult> {
  const { bin, env } = dockerCommand(o, dockerConfig);
  const timeoutMs = o.timeoutMs ?? 60_000;
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[test helper] docker ${args.join(' ')} killed after ${timeoutMs}ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + err.message });
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      resolve({ code: code ?? (sig ? 128 : -1), stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(o.input ?? '');
  });
}
