// Discovery backends behind one interface: they report the full list of
// engine addresses ("host:port") whenever it changes. Issue 4 adds KV and
// token backends behind the same seam.

export interface Discovery {
  readonly scheme: string;
  /** Start watching; `onEntries` gets the whole list each time it changes. Returns a stop function. */
  watch(onEntries: (addrs: string[]) => void, onError: (err: Error) => void): () => void;
}

/**
 * Expand classic Swarm's range form: `10.0.0.[10:12]:2375` or
 * `192.168.1.2:[2:4]375`. At most one range per entry, as classic allows.
 */
export function expandRange(entry: string): string[] {
  const m = /^(.*)\[(\d+):(\d+)\](.*)$/.exec(entry);
  if (!m) return [entry];
  const [, head, a, b, tail] = m;
  const from = parseInt(a, 10);
  const to = parseInt(b, 10);
  if (to < from) throw new Error(`invalid range in "${entry}"`);
  if (to - from > 65535) throw new Error(`range too large in "${entry}"`);
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(`${head}${i}${tail}`);
  return out;
}

/** Validate one "host:port" entry (after range expansion). */
export function checkAddr(addr: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:/\s]+):(\d{1,5})$/.exec(addr);
  if (!m || parseInt(m[2], 10) > 65535) throw new Error(`invalid node address "${addr}": want host:port`);
  return addr;
}

export function parseEntries(list: string[]): string[] {
  const out: string[] = [];
  for (const raw of list) {
    const e = raw.trim();
    if (!e || e.startsWith('#')) continue;
    for (const a of expandRange(e)) out.push(checkAddr(a));
  }
  return [...new Set(out)];
}
