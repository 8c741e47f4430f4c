// What a container create asks for, as the access rules see it: the options
// that reach past the container (only `full` may use them) and the other
// objects it names (each must be usable by the caller). Pure: the body is
// the one the manager parsed and will forward.
import { namedVolumes } from '../util/volumes.js';

/** Host namespaces a container may join. */
const HOST_MODES = ['PidMode', 'IpcMode', 'NetworkMode', 'UTSMode', 'UsernsMode', 'CgroupnsMode'] as const;

const nonEmpty = (v: unknown): boolean => Array.isArray(v) ? v.length > 0 : v !== undefined && v !== null && v !== '';

/** A value of the body as text. Not String(): a JSON object may carry a `toString` that is not a function, and throw. */
const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? '');

/** A bind's source is a host path (not a named volume). */
const hostPath = (src: string): boolean => src.startsWith('/') || src.startsWith('.') || src.startsWith('~');

/**
 * The options that need `full`, each named as the CLI user knows it
 * ("Privileged", "CapAdd", "PidMode=host", "bind /etc", ...).
 */
export function dangerousOptions(body: any): string[] {
  const h = body?.HostConfig ?? {};
  const out: string[] = [];
  if (h.Privileged === true) out.push('Privileged');
  if (nonEmpty(h.CapAdd)) out.push('CapAdd');
  for (const m of HOST_MODES) if (h[m] === 'host') out.push(`${m}=host`);
  if (nonEmpty(h.Devices)) out.push('Devices');
  if (nonEmpty(h.DeviceCgroupRules)) out.push('DeviceCgroupRules');
  if (nonEmpty(h.DeviceRequests)) out.push('DeviceRequests');
  for (const s of Array.isArray(h.SecurityOpt) ? h.SecurityOpt : []) {
    if (/unconfined/.test(text(s))) out.push(`SecurityOpt=${text(s)}`);
  }
  for (const b of Array.isArray(h.Binds) ? h.Binds : []) {
    const src = text(b).split(':')[0];
    if (hostPath(src)) out.push(`bind ${src}`);
  }
  for (const m of Array.isArray(h.Mounts) ? h.Mounts : []) {
    if (m?.Type === 'bind') out.push(`bind ${text(m.Source ?? '')}`);
  }
  return out;
}

/** A container reference in "container:<ref>" modes. */
const containerMode = (v: unknown): string | undefined =>
  typeof v === 'string' && v.startsWith('container:') ? v.slice('container:'.length) : undefined;

/** The containers, networks and volumes a create names, which the caller must be able to use. */
export function referencedObjects(body: any): { containers: string[]; networks: string[]; volumes: string[] } {
  const h = body?.HostConfig ?? {};
  const containers = new Set<string>();
  const networks = new Set<string>();
  for (const m of ['PidMode', 'IpcMode', 'NetworkMode'] as const) {
    const c = containerMode(h[m]);
    if (c) containers.add(c);
  }
  // volumes-from: "name[:ro|rw]"
  for (const v of Array.isArray(h.VolumesFrom) ? h.VolumesFrom : []) containers.add(text(v).split(':')[0]);
  // links: "name:alias"
  for (const l of Array.isArray(h.Links) ? h.Links : []) containers.add(text(l).split(':')[0].replace(/^\//, ''));
  const mode = typeof h.NetworkMode === 'string' ? h.NetworkMode : '';
  if (mode && !['default', 'bridge', 'host', 'none'].includes(mode) && !containerMode(mode)) networks.add(mode);
  for (const n of Object.keys(body?.NetworkingConfig?.EndpointsConfig ?? {})) {
    if (!['default', 'bridge', 'host', 'none'].includes(n)) networks.add(n);
  }
  return { containers: [...containers], networks: [...networks], volumes: namedVolumes(body) };
}
