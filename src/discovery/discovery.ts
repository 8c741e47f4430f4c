import { isIPv6 } from 'node:net';

// Discovery backends behind one interface: they report the full list of
// engine addresses ("host:port") whenever it changes, and (where the backend
// can) register one entry with a TTL, which `swarm join` renews every
// heartbeat. Backends that hold a store (etcd, zk, consul) also offer the
// leader lock replication needs (./leader.ts's LockStore). A registry by
// scheme name (./index.ts) builds them from the discovery URL.

export interface Discovery {
  readonly scheme: string;
  /** Start watching; `onEntries` gets the whole list each time it changes. Returns a stop function. */
  watch(onEntries: (addrs: string[]) => void, onError: (err: Error) => void): () => void;
  /**
   * Register (or renew) one entry for `ttlMs`: it disappears from every
   * watcher's list if not renewed in time. Backends without registration
   * (nodes://, file://) throw `DiscoveryError`.
   */
  register?(addr: string, ttlMs: number): Promise<void>;
  /** Close connections to the store (after the last watch or register). */
  close?(): Promise<void>;
}

/** What every backend is built from: the part after `scheme://`, and the options. */
export interface DiscoveryOptions {
  /** `--heartbeat`: how often to poll where the backend cannot watch. */
  heartbeatMs: number;
  /** `--discovery-opt k=v`, validated by the backend (unknown keys are an error naming them). */
  opts: ReadonlyMap<string, string>;
}

export class DiscoveryError extends Error {}

/** A bad entry in the store (reported, skipped): not the store failing. */
export class EntryError extends DiscoveryError {}

/**
 * Hold back drops right after the store was away. The first lists after an
 * outage may lack entries whose registration lapsed meanwhile (a ZooKeeper
 * session the restarted server expired before its join could resume it, a
 * lease) although their join is alive and registers again on its next
 * heartbeat. So for `settleMs` from the first list after a store error, an
 * entry missing from the list is kept; then the list is taken as it is.
 * Additions go through at once. Returns the wrapped callbacks.
 */
export function settleAfterOutage(
  onEntries: (addrs: string[]) => void, onError: (err: Error) => void, settleMs: number,
  onHold: (missing: string[]) => void = () => undefined,
): { entries: (addrs: string[]) => void; error: (err: Error) => void; stop: () => void } {
  let delivered: string[] | undefined;
  let latest: string[] = [];
  let failed = false;
  let settleUntil = 0;
  let timer: NodeJS.Timeout | undefined;
  const deliver = (addrs: string[]): void => {
    if (delivered && delivered.join(',') === addrs.join(',')) return;
    delivered = addrs;
    onEntries(addrs);
  };
  const entries = (addrs: string[]): void => {
    latest = addrs;
    if (failed && delivered) { failed = false; settleUntil = Date.now() + settleMs; }
    failed = false;
    const missing = Date.now() < settleUntil && delivered ? delivered.filter((a) => !addrs.includes(a)) : [];
    if (!missing.length) { deliver(addrs); return; }
    onHold(missing);
    deliver([...new Set([...addrs, ...missing])].sort());
    // (Re-)armed for the current window: a second outage inside it moves the end.
    clearTimeout(timer);
    timer = setTimeout(() => { timer = undefined; deliver(latest); }, Math.max(0, settleUntil - Date.now()));
    timer.unref();
  };
  const error = (err: Error): void => {
    if (!(err instanceof EntryError)) failed = true;
    onError(err);
  };
  return { entries, error, stop: () => clearTimeout(timer) };
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

/** Validate one "host:port" entry (after range expansion); a bracketed host must be an IPv6 address. */
export function checkAddr(addr: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:/\s[\]]+):(\d{1,5})$/.exec(addr);
  if (!m || parseInt(m[2], 10) > 65535 || (m[1].startsWith('[') && !isIPv6(m[1].slice(1, -1)))) {
    throw new Error(`invalid node address "${addr}": want host:port`);
  }
  return addr;
}

/**
 * One registered entry, as a store or the token service holds it: exactly
 * one `host:port`, never a range (a registration like `[1:65535]:2375`
 * must not become 65,535 engines).
 */
export function checkEntry(value: string): string {
  return checkAddr(value.trim());
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

/**
 * The leader lock of a store-backed backend, at `<path>/docker/swarm/leader`
 * (classic's key), for `swarm manage --replication`.
 */
export interface LockStore {
  /**
   * Run for the lock with `value` (the manager's advertised address), held
   * with a TTL of `ttlMs` and renewed while alive. `onChange(true)` when this
   * candidate holds the lock, `onChange(false)` when it lost it (it then runs
   * again). Returns a stop function that releases the lock if held.
   */
  campaign(value: string, ttlMs: number, onChange: (held: boolean) => void, onError: (err: Error) => void): () => Promise<void>;
  /** Follow the lock's value (the primary's address); undefined while nobody holds it. Returns a stop function. */
  follow(onValue: (value: string | undefined) => void, onError: (err: Error) => void): () => void;
}

export function isLockStore(d: Discovery): d is Discovery & LockStore {
  return typeof (d as Partial<LockStore>).campaign === 'function' && typeof (d as Partial<LockStore>).follow === 'function';
}

/** Classic's key layout under a backend's path. */
export const NODES_KEY = 'docker/swarm/nodes';
export const LEADER_KEY = 'docker/swarm/leader';
