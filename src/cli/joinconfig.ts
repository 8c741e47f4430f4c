// `swarm join` and `swarm list` flags parsed once, at the edge, into typed
// configs. Checks and their order follow classic Swarm 1.2.9 (cli/join.go,
// cli/list.go, getDiscoveryOpt in cli/manage.go); where classic checked, the
// message is its text.
import { ConfigError } from './config.js';
import { checkAddr } from '../discovery/discovery.js';

export interface JoinConfig {
  /** The discovery URL (positional argument, else $SWARM_DISCOVERY). */
  discovery: string;
  /** `--discovery-opt k=v`, checked by the backend. */
  discoveryOpts: Map<string, string>;
  /** `--advertise|--addr` ($SWARM_ADVERTISE): the engine's `host:port`, as registered. */
  advertise: string;
  heartbeatMs: number;
  ttlMs: number;
  /** `--delay`: the first registration waits a random time in [0, delay). */
  delayMs: number;
}

export interface ListConfig {
  discovery: string;
  discoveryOpts: Map<string, string>;
  /** `--timeout`: how long to wait for the backend's first list. */
  timeoutMs: number;
}

const GO_UNITS: Record<string, number> = {
  ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000,
};
/** Go's time.Duration holds at most 2^63-1 ns. */
const GO_MAX_MS = 9_223_372_036_854.775;

/**
 * Go's time.ParseDuration, in milliseconds: an optional sign, then one or
 * more decimal numbers each with a unit ("1h30m", "-1.5s", "+500ms"); a bare
 * "0" needs no unit. Throws Go's error texts (unquoted, as the Go releases
 * classic was built with wrote them).
 */
export function parseGoDuration(orig: string): number {
  let s = orig;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return 0;
  const invalid = (): Error => new Error(`time: invalid duration ${orig}`);
  if (s === '') throw invalid();
  let total = 0;
  while (s !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const whole = num[1];
    const frac = num[2];
    if (!whole && !frac) throw invalid();
    s = s.slice(num[0].length);
    const unit = /^[^0-9.]*/.exec(s)![0];
    if (!unit) throw new Error(`time: missing unit in duration ${orig}`);
    if (!Object.prototype.hasOwnProperty.call(GO_UNITS, unit)) throw new Error(`time: unknown unit ${unit} in duration ${orig}`);
    s = s.slice(unit.length);
    total += Number(`${whole || '0'}.${frac || '0'}`) * GO_UNITS[unit];
    if (total > GO_MAX_MS) throw invalid();
  }
  return neg ? -total : total;
}

/** A duration flag, failing as classic did: `invalid --<name>: time: invalid duration x`. */
function durationFlag(name: string, v: unknown): number {
  let ms: number;
  try {
    ms = parseGoDuration(String(v));
  } catch (e) {
    throw new ConfigError(`invalid --${name}: ${(e as Error).message}`);
  }
  // Node's timers take at most 2^31-1 ms (~24.8 days); a longer wait would fire at once.
  if (ms > MAX_TIMER_MS) throw new ConfigError(`invalid --${name}: ${v} is longer than the longest wait (24 days)`);
  return ms;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Go's net.SplitHostPort plus a port in 1..65535 (classic's checkAddrFormat).
 * We also refuse what no manager could dial (an empty host, spaces, a
 * slash): the entry must be one our discovery layer accepts.
 */
export function validAdvertise(addr: string): boolean {
  const i = addr.lastIndexOf(':');
  if (i < 0) return false;
  let host: string;
  let j = 0;
  let k = 0;
  if (addr.startsWith('[')) {
    const end = addr.indexOf(']');
    if (end < 0 || end + 1 !== i) return false;
    host = addr.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = addr.slice(0, i);
    if (host.includes(':')) return false;
  }
  if (addr.slice(j).includes('[') || addr.slice(k).includes(']')) return false;
  const port = addr.slice(i + 1);
  // strconv.Atoi takes a sign; the range check then rules "-1" out.
  if (!/^[+-]?\d+$/.test(port)) return false;
  const n = Number(port);
  if (!(n > 0 && n <= 65535)) return false;
  if (!host) return false;
  try {
    checkAddr(addr);
  } catch {
    return false;
  }
  return true;
}

/** classic's getDiscovery: the one positional argument, else $SWARM_DISCOVERY. */
function discoveryArg(argv: Record<string, any>): string {
  const v = argv.discovery !== undefined ? String(argv.discovery) : (process.env.SWARM_DISCOVERY ?? '');
  return v.trim();
}

/** `--discovery-opt` in `swarm join --help` and `swarm list --help`: the keys the stores take. */
export const DISCOVERY_OPT_HELP = 'discovery options (key=value; repeat the flag for each): kv.path; TLS to etcd or consul: ' +
  'kv.cacertfile, kv.certfile, kv.keyfile; etcd: kv.username, kv.password; token.url';

/** classic's getDiscoveryOpt: every value must contain `=`; the first `=` splits key from value. */
export function parseDiscoveryOpts(raw: unknown): Map<string, string> {
  const opts = new Map<string, string>();
  for (const opt of ([] as unknown[]).concat(raw ?? []).map(String)) {
    const i = opt.indexOf('=');
    if (i < 0) throw new ConfigError('--discovery-opt must contain key=value strings');
    opts.set(opt.slice(0, i), opt.slice(i + 1));
  }
  return opts;
}

/** `swarm join`: classic's checks, in classic's order (cli/join.go). */
export function parseJoinConfig(argv: Record<string, any>): JoinConfig {
  const discovery = discoveryArg(argv);
  if (!discovery) throw new ConfigError("discovery required to join a cluster. See 'swarm join --help'.");

  // An explicit `--advertise ""` wins over $SWARM_ADVERTISE, as a flag over its EnvVar did.
  const advertise = String(argv.advertise ?? process.env.SWARM_ADVERTISE ?? '').trim();
  if (!advertise) throw new ConfigError('missing mandatory --advertise flag');
  if (!validAdvertise(advertise)) throw new ConfigError('--advertise should be of the form ip:port or hostname:port');

  const delayMs = durationFlag('delay', argv.delay ?? '0s');
  if (delayMs < 0) throw new ConfigError('--delay should not be a negative number');

  const heartbeatMs = durationFlag('heartbeat', argv.heartbeat ?? '60s');
  if (heartbeatMs < 1000) throw new ConfigError('--heartbeat should be at least one second');

  const ttlMs = durationFlag('ttl', argv.ttl ?? '180s');
  if (ttlMs <= heartbeatMs) throw new ConfigError('--ttl must be strictly superior to the heartbeat value');

  const discoveryOpts = parseDiscoveryOpts(argv['discovery-opt']);
  return { discovery, discoveryOpts, advertise, heartbeatMs, ttlMs, delayMs };
}

/** `swarm list`: classic's checks, in classic's order (cli/list.go). */
export function parseListConfig(argv: Record<string, any>): ListConfig {
  const discovery = discoveryArg(argv);
  if (!discovery) throw new ConfigError("discovery required to list a cluster. See 'swarm list --help'.");
  const timeoutMs = durationFlag('timeout', argv.timeout ?? '10s');
  if (timeoutMs <= 0) throw new ConfigError('--timeout should be a positive number');
  const discoveryOpts = parseDiscoveryOpts(argv['discovery-opt']);
  return { discovery, discoveryOpts, timeoutMs };
}

/** A duration for log lines and messages: "60s", "1.5s", "250ms", "2m". */
export function formatMs(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${Number((ms / 1000).toFixed(3))}s`;
  return `${Number(ms.toFixed(3))}ms`;
}
