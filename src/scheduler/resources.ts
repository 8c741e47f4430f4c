// Pure resource helpers shared by the scheduler (requests) and the cluster
// cache (containers read back from engines).
import type { PortBinding } from './node.js';
import type { Dependencies } from './request.js';

/**
 * CPUs a container reserves, classic Swarm style.
 *
 * - `NanoCpus` (`docker run --cpus 1.5`) is an explicit CPU count: 1.5. It
 *   wins over CpuShares when both are set, because then CpuShares can only be
 *   a relative weight.
 * - In a create request, `CpuShares` is a NUMBER OF CPUS (`docker run -c 2`
 *   reserves 2 CPUs): classic Swarm's reading, kept for compatibility.
 * - The manager sends the engine `engineCpuShares(cpus, nodeCpus)` instead,
 *   so for a container read back from an engine (`fromEngine`) the shares are
 *   converted back with the engine's raw CPU count `nodeCpus`. When an
 *   integer CPU count maps to exactly those shares it is returned (so
 *   `-c 2` on a 3-CPU node reads back as 2, not 2.0009); otherwise
 *   shares * nodeCpus / 1024 (e.g. `-c 512` set directly on the engine).
 *   Without `nodeCpus` the shares cannot be interpreted and count as 0.
 */
export function reservedCpus(hostConfig: any, nodeCpus?: number, fromEngine = false): number {
  const nano = num(hostConfig?.NanoCpus);
  if (nano > 0) return nano / 1e9;
  const shares = num(hostConfig?.CpuShares);
  if (shares <= 0) return 0;
  if (!fromEngine) return shares;
  if (!nodeCpus || nodeCpus <= 0) return 0;
  const exact = (shares * nodeCpus) / 1024;
  const n = Math.floor(exact + 1e-9);
  if (n > 0 && engineCpuShares(n, nodeCpus) === shares) return n;
  return exact;
}

/** CpuShares the manager sends the engine for a reservation of `cpus` on a node with `nodeCpus` CPUs. */
export function engineCpuShares(cpus: number, nodeCpus: number): number {
  if (!(cpus > 0)) return 0;
  const total = nodeCpus > 0 ? nodeCpus : 1;
  // The epsilon keeps exact quotients exact despite float error.
  return Math.ceil((cpus * 1024) / total - 1e-9);
}

/** Memory reservation in bytes (`-m` is a reservation in classic Swarm). */
export function reservedMemory(hostConfig: any): number {
  const m = num(hostConfig?.Memory);
  return m > 0 ? m : 0;
}

/**
 * Host ports a container holds or wants.
 * - `--net=host`: every `config.ExposedPorts` key, on every address.
 * - otherwise: every `HostConfig.PortBindings` entry with a static HostPort
 *   (`-p 80` alone picks a random port and never clashes); ranges expand.
 * - `actualPorts` (NetworkSettings.Ports of a container read back from an
 *   engine) adds the ports the engine really allocated, as classic checks both.
 */
export function hostPorts(config: any, hostConfig: any, actualPorts?: any): PortBinding[] {
  const out: PortBinding[] = [];
  const seen = new Set<string>();
  const add = (hostIp: string, hostPort: number, proto: string) => {
    const k = `${hostIp}|${hostPort}|${proto}`;
    if (seen.has(k)) return;
    seen.add(k);
    out.push({ hostIp, hostPort, proto });
  };

  if (hostConfig?.NetworkMode === 'host') {
    for (const key of Object.keys(obj(config?.ExposedPorts))) {
      const { ports, proto } = parsePortKey(key);
      for (const p of ports) add('', p, proto);
    }
    return exact(out);
  }

  for (const bindings of [obj(hostConfig?.PortBindings), obj(actualPorts)]) {
    for (const [key, list] of Object.entries(bindings)) {
      const { proto } = parsePortKey(key);
      if (!Array.isArray(list)) continue;
      for (const b of list) {
        const hostPort = String(b?.HostPort ?? '').trim();
        if (hostPort === '' || hostPort === '0') continue;
        const hostIp = String(b?.HostIp ?? '').trim();
        for (const p of expandRange(hostPort)) add(hostIp, p, proto);
      }
    }
  }
  return exact(out);
}

/** An array grown by push keeps spare slots (17 for one item); kept per cached container, trim it. */
function exact<T>(a: T[]): T[] {
  return a.length === 0 ? a : a.slice();
}

const ANY_IP = new Set(['', '0.0.0.0', '::']);

/** Same proto and port, on the same address or with either side on every address. */
export function portsClash(a: PortBinding, b: PortBinding): boolean {
  if (!a.hostPort || a.hostPort !== b.hostPort) return false;
  if ((a.proto || 'tcp').toLowerCase() !== (b.proto || 'tcp').toLowerCase()) return false;
  return a.hostIp === b.hostIp || ANY_IP.has(a.hostIp) || ANY_IP.has(b.hostIp);
}

/** Containers a create request must be co-located with. */
export function dependenciesOf(hostConfig: any): Dependencies {
  const volumesFrom = strings(hostConfig?.VolumesFrom)
    .map((v) => v.replace(/:(ro|rw)$/, ''))
    .filter(Boolean);
  // "db:alias" from a request, "/db:/web/alias" from an engine.
  const links = strings(hostConfig?.Links)
    .map((l) => l.split(':')[0].replace(/^\//, ''))
    .filter(Boolean);
  const namespaces: string[] = [];
  for (const mode of [hostConfig?.NetworkMode, hostConfig?.IpcMode, hostConfig?.PidMode]) {
    if (typeof mode === 'string' && mode.startsWith('container:')) {
      const target = mode.slice('container:'.length).replace(/^\//, '');
      if (target && !namespaces.includes(target)) namespaces.push(target);
    }
  }
  return { volumesFrom, links, namespaces };
}

function parsePortKey(key: string): { ports: number[]; proto: string } {
  const slash = key.indexOf('/');
  const port = slash < 0 ? key : key.slice(0, slash);
  const given = (slash < 0 ? '' : key.slice(slash + 1)).trim().toLowerCase() || 'tcp';
  // The usual ones as constants: kept in every cached container's bindings.
  const proto = given === 'tcp' ? 'tcp' : given === 'udp' ? 'udp' : given;
  return { ports: expandRange(port.trim()), proto };
}

function expandRange(s: string): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) return [];
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535 || hi < lo) return [];
  const out: number[] = [];
  for (let p = lo; p <= hi; p++) out.push(p);
  return out;
}

function num(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : 0;
}

function obj(v: unknown): Record<string, any> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, any>) : {};
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
