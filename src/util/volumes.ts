// The named volumes a container create body mounts, as dockerd reads them:
// the scheduler's placement hint (a container goes where its volume is) and
// the access rules (a mounted volume must be usable by the caller) both ask.

// A named volume, as dockerd tells it from a host path in `-v src:dst`.
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Named volumes a create body mounts: `-v name:/dst` (Binds) and `--mount type=volume,src=name`. */
export function namedVolumes(body: any): string[] {
  const hc = body?.HostConfig;
  const out = new Set<string>();
  for (const b of Array.isArray(hc?.Binds) ? hc.Binds : []) {
    if (typeof b !== 'string' || !b.includes(':')) continue;
    const src = b.split(':')[0];
    if (VOLUME_NAME.test(src)) out.add(src);
  }
  for (const m of Array.isArray(hc?.Mounts) ? hc.Mounts : []) {
    if (m?.Type === 'volume' && typeof m.Source === 'string' && VOLUME_NAME.test(m.Source)) out.add(m.Source);
  }
  return [...out];
}
