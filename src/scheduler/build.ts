// Turn a `POST /containers/create` body into what the scheduler places.
import { extractRules } from './rules.js';
import { dependenciesOf, hostPorts, reservedCpus, reservedMemory } from './resources.js';
import type { ScheduleRequest } from './request.js';

export interface BuiltRequest {
  request: ScheduleRequest;
  /** The body to send the engine: rule env entries moved into labels. */
  body: any;
}

export function buildScheduleRequest(name: string | undefined, body: any): BuiltRequest {
  const rules = extractRules(body);
  const out = rules.body;
  // API < 1.19 clients put CpuShares/Memory at the top level; classic
  // consolidated them into HostConfig, so count them too.
  const hc = out.HostConfig && typeof out.HostConfig === 'object' ? out.HostConfig : {};
  const resources = {
    NanoCpus: hc.NanoCpus,
    CpuShares: hc.CpuShares || out.CpuShares,
    Memory: hc.Memory || out.Memory,
  };
  const cleanName = typeof name === 'string' ? name.replace(/^\//, '') : '';
  const request: ScheduleRequest = {
    ...(cleanName ? { name: cleanName } : {}),
    image: typeof out.Image === 'string' ? out.Image : '',
    constraints: rules.constraints,
    affinities: rules.affinities,
    whitelists: rules.whitelists,
    cpus: reservedCpus(resources),
    memory: reservedMemory(resources),
    ports: hostPorts(out, hc),
    networkMode: typeof hc.NetworkMode === 'string' && hc.NetworkMode ? hc.NetworkMode : 'default',
    dependencies: dependenciesOf(hc),
    labels: { ...(out.Labels ?? {}) },
  };
  return { request, body: out };
}
