// Classic Swarm's container inspect answer from the engine's bytes: the
// engine's JSON with a top-level `Node` object added and wildcard host IPs
// of NetworkSettings.Ports made the node's IP. Parsing and re-stringifying
// the whole document (5-10 KB) per inspect was most of the manager's own
// cost; here a scanner finds the top-level object's end and the value of
// NetworkSettings.Ports (strings are skipped with a native indexOf), only
// that small value is parsed and rewritten (by the same rules as before:
// rewriteAnyIps), and the rest of the engine's bytes pass through as they
// came. HostConfig.PortBindings (the request, kept as the engine said) is
// never touched. Anything the scanner does not understand falls back to the
// whole-document transform, so the meaning is always the old one.

const QUOTE = 0x22, BACKSLASH = 0x5c, LBRACE = 0x7b, RBRACE = 0x7d, LBRACKET = 0x5b, RBRACKET = 0x5d, COLON = 0x3a, COMMA = 0x2c;

const isWs = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function skipWs(b: Buffer, i: number): number {
  while (isWs(b[i])) i++;
  return i;
}

/** Index just past the string that opens at `i`, or -1. A quote after an odd run of backslashes is escaped. */
function skipString(b: Buffer, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = b.indexOf(QUOTE, j);
    if (q < 0) return -1;
    let k = q - 1;
    while (b[k] === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** Index just past the value that starts at `i` (not validated beyond its nesting), or -1. */
function skipValue(b: Buffer, i: number): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c !== LBRACE && c !== LBRACKET) {
    // A number, true, false or null: up to the next delimiter.
    while (i < b.length && b[i] !== COMMA && b[i] !== RBRACE && b[i] !== RBRACKET && !isWs(b[i])) i++;
    return i;
  }
  let depth = 0;
  while (i < b.length) {
    const x = b[i];
    if (x === QUOTE) { i = skipString(b, i); if (i < 0) return -1; continue; }
    if (x === LBRACE || x === LBRACKET) depth++;
    else if (x === RBRACE || x === RBRACKET) { depth--; if (depth === 0) return i + 1; }
    i++;
  }
  return -1;
}

/** Whether the string at [s, e) (quotes included) is the key `want` (raw bytes compared; decoded only if escaped). */
function keyIs(b: Buffer, s: number, e: number, want: Buffer): boolean {
  if (e - s - 2 === want.length && b.compare(want, 0, want.length, s + 1, e - 1) === 0) return true;
  for (let i = s + 1; i < e - 1; i++) if (b[i] === BACKSLASH) return JSON.parse(b.toString('utf8', s, e)) === want.toString('latin1');
  return false;
}

const NETWORK_SETTINGS = Buffer.from('NetworkSettings');
const PORTS = Buffer.from('Ports');

/**
 * Walk the members of the object that opens at `i`, calling `member(keyStart,
 * keyEnd, valueStart)` which returns the index past the value (or -1). Returns the
 * index of the closing brace and whether the object had members, or
 * undefined when the bytes are not an object as expected.
 */
function members(b: Buffer, i: number, member: (ks: number, ke: number, at: number) => number): { close: number; empty: boolean } | undefined {
  if (b[i] !== LBRACE) return undefined;
  i = skipWs(b, i + 1);
  if (b[i] === RBRACE) return { close: i, empty: true };
  for (;;) {
    if (b[i] !== QUOTE) return undefined;
    const ke = skipString(b, i);
    if (ke < 0) return undefined;
    const ks = i;
    i = skipWs(b, ke);
    if (b[i] !== COLON) return undefined;
    i = skipWs(b, i + 1);
    const ve = member(ks, ke, i);
    if (ve < 0) return undefined;
    i = skipWs(b, ve);
    if (b[i] === RBRACE) return { close: i, empty: false };
    if (b[i] !== COMMA) return undefined;
    i = skipWs(b, i + 1);
  }
}

/** The old rule, on a parsed NetworkSettings.Ports value: wildcard (or missing) host IPs become `ip`. True if anything changed. */
export function rewriteAnyIps(ports: any, ip: string): boolean {
  let changed = false;
  if (ports) {
    for (const bindings of Object.values(ports) as any[]) {
      for (const b of bindings ?? []) if (b && isAnyIp(b.HostIp)) { b.HostIp = ip; changed = true; }
    }
  }
  return changed;
}

export function isAnyIp(ip: string | undefined): boolean { return !ip || ip === '0.0.0.0' || ip === '::'; }

/** The whole-document transform (the reference; also the fallback for what the scanner refuses). */
export function decorateInspectParsed(body: Buffer, node: Record<string, unknown>, ip: string): Buffer {
  const data = JSON.parse(body.toString('utf8'));
  data.Node = node;
  rewriteAnyIps(data.NetworkSettings?.Ports, ip);
  return Buffer.from(JSON.stringify(data) + '\n');
}

/** The engine's inspect bytes with `Node` added and wildcard port host IPs made `ip` (same meaning as decorateInspectParsed). */
export function decorateInspect(body: Buffer, node: Record<string, unknown>, ip: string): Buffer {
  // The value range of the last NetworkSettings.Ports (JSON.parse keeps the last of duplicate keys).
  let ports: [number, number] | undefined;
  const top = members(body, skipWs(body, 0), (ks, ke, at) => {
    if (!keyIs(body, ks, ke, NETWORK_SETTINGS)) return skipValue(body, at);
    ports = undefined;
    if (body[at] !== LBRACE) return skipValue(body, at);
    const ns = members(body, at, (k0, k1, v) => {
      const end = skipValue(body, v);
      if (end >= 0 && keyIs(body, k0, k1, PORTS)) ports = [v, end];
      return end;
    });
    return ns ? ns.close + 1 : -1;
  });
  if (!top || skipWs(body, top.close + 1) !== body.length) return decorateInspectParsed(body, node, ip);
  const nodePart = Buffer.from(`${top.empty ? '' : ','}"Node":${JSON.stringify(node)}`);
  if (ports) {
    const value = JSON.parse(body.toString('utf8', ports[0], ports[1]));
    if (rewriteAnyIps(value, ip)) {
      return Buffer.concat([body.subarray(0, ports[0]), Buffer.from(JSON.stringify(value)), body.subarray(ports[1], top.close), nodePart, body.subarray(top.close)]);
    }
  }
  return Buffer.concat([body.subarray(0, top.close), nodePart, body.subarray(top.close)]);
}

/** What an inspect answer's decoration depends on, as one string to compare. */
export function nodeFacts(node: Record<string, unknown>, ip: string): string {
  return `${ip} ${JSON.stringify(node)}`;
}
