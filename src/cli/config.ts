// `swarm manage` flags parsed once, at the edge, into a typed config.
import { parseDuration } from '../util/duration.js';
import { parseHost, type ListenAddr } from '../api/server.js';
import { DEFAULT_FILTERS, createFilters } from '../../filters/index.js';
import { DEFAULT_STRATEGY, createStrategy } from '../../strategies/index.js';
import { DEFAULT_TOKEN_ADDR, DEFAULT_TOKEN_DATA_DIR, parseListenAddr } from '../tokenserver/index.js';
import type { TlsFiles } from '../util/tls.js';

/** Where the manager listens with no -H: 3375 plain, 3376 with TLS (docker's 2375/2376 habit). */
export const DEFAULT_PORT = 3375;
export const DEFAULT_TLS_PORT = 3376;

export interface ManageConfig {
  hosts: ListenAddr[];
  discovery: string;
  /** `--replication`: this manager's advertised address and the lock's TTL. */
  replication?: { advertise: string; ttlMs: number };
  /** `--discovery-opt k=v`, checked by the backend. */
  discoveryOpts: Map<string, string>;
  strategy: string;
  filters: string[];
  refreshMinMs: number;
  refreshMaxMs: number;
  failureRetry: number;
  heartbeatMs: number;
  cors: boolean;
  overcommit: number;
  createRetry: number;
  refreshOnNodeFilter: boolean;
  containerNameRefreshFilter: string;
  /** `--tls`/`--tlsverify` and the files (read by the manager, and again on SIGHUP). */
  tls?: TlsFiles;
  /** `--token-server[=addr]`: run the token service in the manager. */
  tokenServer?: { addr: string; dataDir: string };
  /** `--access-policy` and `--audit-log` (issue 17). */
  access?: { policy: string; audit?: string };
  warnings: string[];
}

export class ConfigError extends Error {}

// Where classic Swarm 1.2.9 checks a flag, the message is its text, byte for
// byte (Go's formatting included); checks classic did not make have ours.

/** A Go duration flag, failing like Go's flag package: `invalid value "x" for flag -name: time: invalid duration x`. */
const DURATION = (name: string, v: unknown): number => {
  try { return parseDuration(String(v)); } catch { throw new ConfigError(`invalid value "${v}" for flag -${name}: ${goDurationError(v)}`); }
};

/** Go's time.ParseDuration error (Go releases of classic's time: unquoted). */
function goDurationError(v: unknown): string {
  return `time: invalid duration ${String(v)}`;
}

/** Validate and type the raw yargs values (classic Swarm's rules; errors instead of log.Fatal). */
export function parseManageConfig(argv: Record<string, any>): ManageConfig {
  const warnings: string[] = [];
  // Classic checks the TLS flags first, before the discovery.
  const tls = parseTlsFlags(argv);
  const { discoveryArg, tokenServer } = parseTokenServer(argv);
  const discovery = String(discoveryArg ?? process.env.SWARM_DISCOVERY ?? '').trim();
  if (!discovery) throw new ConfigError("discovery required to manage a cluster. See 'swarm manage --help'.");

  const port = tls ? DEFAULT_TLS_PORT : DEFAULT_PORT;
  const hostsRaw: string[] = ([] as unknown[]).concat(argv.host ?? []).map(String).flatMap((h) => h.split(',')).filter(Boolean);
  if (!hostsRaw.length) hostsRaw.push(process.env.SWARM_HOST || `tcp://127.0.0.1:${port}`);
  const hosts = hostsRaw.map((h) => { try { return parseHost(h, port); } catch (e) { throw new ConfigError((e as Error).message); } });

  let strategy = String(argv.strategy ?? DEFAULT_STRATEGY);
  try { strategy = createStrategy(strategy).name; } catch (e) { throw new ConfigError((e as Error).message); }

  const filterArg: string[] = ([] as unknown[]).concat(argv.filter ?? []).map(String).flatMap((f) => f.split(',')).map((f) => f.trim()).filter(Boolean);
  const filters = filterArg.length ? filterArg : [...DEFAULT_FILTERS];
  try { createFilters(filters); } catch (e) { throw new ConfigError((e as Error).message); }

  const refreshMinMs = DURATION('engine-refresh-min-interval', argv['engine-refresh-min-interval'] ?? '30s');
  const refreshMaxMs = DURATION('engine-refresh-max-interval', argv['engine-refresh-max-interval'] ?? '60s');
  if (refreshMinMs <= 0) throw new ConfigError('min refresh interval should be a positive number');
  if (refreshMaxMs < refreshMinMs) throw new ConfigError('max refresh interval cannot be less than min refresh interval');
  const failureRetry = Number(argv['engine-failure-retry'] ?? 3);
  if (!Number.isInteger(failureRetry) || failureRetry <= 0) throw new ConfigError('invalid failure retry count');
  if (argv['engine-refresh-retry'] !== undefined && Number(argv['engine-refresh-retry']) !== 3) {
    throw new ConfigError('--engine-refresh-retry is deprecated. Use --engine-failure-retry');
  }
  const heartbeatRaw = String(argv.heartbeat ?? '60s');
  let heartbeatMs: number;
  try { heartbeatMs = parseDuration(heartbeatRaw); } catch { throw new ConfigError(`invalid --heartbeat: ${goDurationError(heartbeatRaw)}`); }
  if (heartbeatMs < 1000) throw new ConfigError('--heartbeat should be at least one second');
  const discoveryOpts = new Map<string, string>();
  for (const opt of ([] as unknown[]).concat(argv['discovery-opt'] ?? []).map(String)) {
    if (!opt.includes('=')) throw new ConfigError('--discovery-opt must contain key=value strings');
    discoveryOpts.set(opt.slice(0, opt.indexOf('=')), opt.slice(opt.indexOf('=') + 1));
  }

  const driver = String(argv['cluster-driver'] ?? 'swarm');
  if (driver !== 'swarm') throw new ConfigError(`unsupported cluster ${goQuote(driver)}`);

  let overcommit = 0.05;
  let createRetry = 0;
  for (const opt of ([] as unknown[]).concat(argv['cluster-opt'] ?? []).map(String)) {
    const i = opt.indexOf('=');
    if (i < 0) throw new ConfigError(`invalid --cluster-opt "${opt}": want key=value`);
    const k = opt.slice(0, i);
    const v = opt.slice(i + 1);
    if (k === 'swarm.overcommit') {
      // Classic read an unparsable value as 0; we refuse it.
      overcommit = GO_FLOAT.test(v) ? Number(v.replace(/^([+-]?)inf(inity)?$/i, '$1Infinity')) : NaN;
      if (Number.isNaN(overcommit)) throw new ConfigError(`swarm.overcommit should be a number, ${v} is invalid`);
      if (overcommit <= -1) throw new ConfigError(`swarm.overcommit should be larger than -1, ${goFormatF(overcommit)} is invalid`);
      if (!Number.isFinite(overcommit)) throw new ConfigError(`swarm.overcommit should be a finite number, ${v} is invalid`);
      if (overcommit < 0) warnings.push('-1 < swarm.overcommit < 0 will make swarm take less resource than docker engine offers');
    } else if (k === 'swarm.createretry') {
      createRetry = /^[+-]?\d+$/.test(v) ? Number(v) : NaN;
      if (!Number.isSafeInteger(createRetry)) throw new ConfigError(`swarm.createretry should be an integer, ${v} is invalid`);
      if (createRetry < 0) throw new ConfigError(`swarm.createretry can not be negative, ${createRetry} is invalid`);
    } else {
      throw new ConfigError(`unsupported cluster option "${k}"`);
    }
  }

  let replication: ManageConfig['replication'];
  if (argv.replication) {
    const advertise = String(argv.advertise ?? process.env.SWARM_ADVERTISE ?? '').trim();
    if (!advertise) throw new ConfigError('--advertise address must be provided when using --leader-election');
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:/\s]+):\d{1,5}$/.test(advertise)) throw new ConfigError('--advertise should be of the form ip:port or hostname:port');
    const ttlRaw = String(argv['replication-ttl'] ?? '20s');
    let ttlMs: number;
    try { ttlMs = parseDuration(ttlRaw); } catch { throw new ConfigError(`invalid --replication-ttl: ${goDurationError(ttlRaw)}`); }
    if (ttlMs <= 0) throw new ConfigError(`invalid --replication-ttl: ${ttlRaw}`);
    replication = { advertise, ttlMs };
  }

  const access = parseAccessFlags(argv, tls, hosts);

  return {
    access,
    hosts, discovery, discoveryOpts, replication, strategy, filters, refreshMinMs, refreshMaxMs, failureRetry, heartbeatMs,
    cors: !!argv['api-enable-cors'], overcommit, createRetry,
    refreshOnNodeFilter: !!argv['refresh-on-node-filter'],
    containerNameRefreshFilter: String(argv['container-name-refresh-filter'] ?? ''),
    tokenServer,
    tls,
    warnings,
  };
}

/**
 * `--access-policy FILE` and `--audit-log FILE|-`: users are the CNs of
 * verified client certificates, so every address must verify them.
 */
function parseAccessFlags(argv: Record<string, any>, tls: TlsFiles | undefined, hosts: ListenAddr[]): ManageConfig['access'] {
  const policy = argv['access-policy'] === undefined || argv['access-policy'] === '' ? undefined : String(argv['access-policy']);
  const audit = argv['audit-log'] === undefined || argv['audit-log'] === '' ? undefined : String(argv['audit-log']);
  if (!policy) {
    if (audit) throw new ConfigError('--audit-log needs --access-policy: the log names the user of each request');
    return undefined;
  }
  if (!tls?.verify) throw new ConfigError('--access-policy needs --tlsverify: a request\'s user is the common name of its verified client certificate');
  const plain = hosts.find((h) => h.proto !== 'tcp');
  if (plain) throw new ConfigError(`--access-policy: ${plain.raw} carries no client certificate; listen on tcp:// addresses only`);
  return { policy, audit };
}

/** `--tls`, `--tlsverify` and the three files, with classic Swarm's checks and texts. */
export function parseTlsFlags(argv: Record<string, any>): TlsFiles | undefined {
  const given = (k: string): boolean => argv[k] !== undefined && argv[k] !== '';
  if (argv.tls || argv.tlsverify) {
    if (!given('tlscert') || !given('tlskey')) throw new ConfigError('--tlscert and --tlskey must be provided when using --tls');
    if (argv.tlsverify && !given('tlscacert')) throw new ConfigError('--tlscacert must be provided when using --tlsverify');
    return {
      verify: !!argv.tlsverify,
      ca: given('tlscacert') ? String(argv.tlscacert) : undefined,
      cert: String(argv.tlscert),
      key: String(argv.tlskey),
    };
  }
  if (given('tlscert') || given('tlskey') || given('tlscacert')) {
    throw new ConfigError('--tlscert, --tlskey and --tlscacert require the use of either --tls or --tlsverify');
  }
  return undefined;
}

/**
 * `--token-server[=addr]` and `--token-server-data-dir`. yargs hands the word
 * after a bare `--token-server` to the flag: when that is no address and no
 * discovery was given otherwise, it was the discovery (`--token-server token://x`).
 */
function parseTokenServer(argv: Record<string, any>): { discoveryArg: unknown; tokenServer?: { addr: string; dataDir: string } } {
  const raw = argv['token-server'];
  let discoveryArg: unknown = argv.discovery;
  if (raw === undefined || raw === false) {
    if (argv['token-server-data-dir'] !== undefined) throw new ConfigError('--token-server-data-dir needs --token-server');
    return { discoveryArg };
  }
  let addr = raw === true ? '' : String(raw).trim();
  let valid = true;
  try { if (addr) parseListenAddr(addr); } catch { valid = false; }
  if (!valid && discoveryArg === undefined) { discoveryArg = addr; addr = ''; valid = true; }
  if (!valid) throw new ConfigError(`invalid --token-server address "${addr}": want host:port, [ipv6]:port or :port`);
  const dataDir = String(argv['token-server-data-dir'] ?? DEFAULT_TOKEN_DATA_DIR);
  return { discoveryArg, tokenServer: { addr: addr || DEFAULT_TOKEN_ADDR, dataDir } };
}

// strconv.ParseFloat's decimal forms: digits with an optional fraction and
// exponent, or inf/infinity (either sign). NaN is refused.
const GO_FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?)$/i;

/** Go's %q of a string, for the texts that quote a value (ASCII-printable values: JSON's quoting is the same). */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

/**
 * Go's %f (strconv 'f', precision 6) of a float64: exact decimal value of
 * the double, rounded half to even, "+Inf"/"-Inf"/"NaN" for the specials.
 * (JavaScript's toFixed rounds ties away from zero and switches to
 * exponent notation at 1e21.)
 */
export function goFormatF(x: number, prec = 6): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const negative = bits >> 63n === 1n;
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  // |x| = mant * 2^exp exactly.
  const mant = biased === 0 ? fraction : fraction | (1n << 52n);
  const exp = (biased === 0 ? 1 : biased) - 1075;
  let num = mant * 10n ** BigInt(prec);
  let den = 1n;
  if (exp >= 0) num <<= BigInt(exp);
  else den <<= BigInt(-exp);
  let q = num / den;
  const twice = (num % den) * 2n;
  if (twice > den || (twice === den && q % 2n === 1n)) q++;
  const digits = q.toString().padStart(prec + 1, '0');
  const text = prec > 0 ? `${digits.slice(0, -prec)}.${digits.slice(-prec)}` : digits;
  return negative ? `-${text}` : text;
}
