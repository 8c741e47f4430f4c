// Integration-test helper: one local Docker registry (Debian's
// docker-registry, /usr/bin/docker-registry) on 127.0.0.1:<port>, plain
// http with htpasswd auth (one user), storage in a temp dir. Engines reach a
// 127.0.0.0/8 registry without TLS (dockerd treats it as insecure). A test
// process that exits without stop() kills it (by its PID) and removes the dir.
//
//   const reg = await startRegistry({ port: 23561, user: 'user', password: 'pass' });
//   reg.addr   // "127.0.0.1:23561"
//   await reg.stop()
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export const REGISTRY_BIN = '/usr/bin/docker-registry';
const HTPASSWD_BIN = '/usr/bin/htpasswd';

/** Why registry tests cannot run here, or undefined (under CI they must run: undefined there). */
export function registrySkipReason(): string | undefined {
  if (process.env.CI) return undefined;
  if (!fs.existsSync(REGISTRY_BIN)) return 'docker-registry not installed (bash .ci/install)';
  if (!fs.existsSync(HTPASSWD_BIN)) return 'htpasswd not installed (bash .ci/install installs apache2-utils)';
  return undefined;
}

export interface RegistryOptions { port: number; user: string; password: string; startTimeoutMs?: number }

export interface TestRegistry {
  /** "127.0.0.1:<port>" */
  readonly addr: string;
  readonly pid: number;
  readonly dir: string;
  /** Kill it (idempotent) and remove its dir. */
  stop(): Promise<void>;
}

const live = new Set<() => void>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => { for (const clean of [...live]) clean(); });
}

/** The registry's /v2/ answers (401 without credentials) once it serves. */
async function serving(addr: string): Promise<boolean> {
  try {
    const r = await fetch(`http://${addr}/v2/`, { signal: AbortSignal.timeout(1000) });
    return r.status === 401 || r.status === 200;
  } catch {
    return false;
  }
}

export async function startRegistry(o: RegistryOptions): Promise<TestRegistry> {
  hookExit();
  const addr = `127.0.0.1:${o.port}`;
  if (await serving(addr)) throw new Error(`a registry already answers on ${addr} (a leftover from a crashed run?)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `swarm-registry-${o.port}-`));
  const htpasswd = path.join(dir, 'htpasswd');
  fs.writeFileSync(htpasswd, execFileSync(HTPASSWD_BIN, ['-Bbn', o.user, o.password]));
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(config, [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${path.join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${addr}`,
    'auth:',
    '  htpasswd:',
    '    realm: swarm-test',
    `    path: ${htpasswd}`,
    '',
  ].join('\n'));
  let stderr = '';
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const cleanup = (): void => {
    live.delete(cleanup);
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  live.add(cleanup);
  const end = Date.now() + (o.startTimeoutMs ?? 20_000);
  while (!(await serving(addr))) {
    if (child.exitCode !== null || Date.now() > end) {
      cleanup();
      throw new Error(`docker-registry on ${addr} did not start:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    addr, pid: child.pid!, dir,
    stop: async () => {
      if (!live.has(cleanup)) return;
      const wait = child.exitCode === null && child.signalCode === null ? exited : Promise.resolve();
      cleanup();
      await wait;
    },
  };
}
