// `swarm join`: keep one engine's address registered on the discovery
// service, renewed every heartbeat with a TTL, until signalled.
//
// As classic Swarm (cli/join.go) the address is registered whether or not an
// engine answers there: managers mark an unreachable engine unhealthy and
// keep retrying it, and an agent is often started before its dockerd. Unlike
// classic, every heartbeat also pings the engine, so a wrong --advertise or a
// dead engine shows in this log, naming the address, instead of only on the
// managers.
import * as http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandModule } from 'yargs';
import { ConfigError } from './config.js';
import { DISCOVERY_OPT_HELP, formatMs, parseJoinConfig, type JoinConfig } from './joinconfig.js';
import { createDiscovery, DiscoveryError, type Discovery } from '../discovery/index.js';
import { log } from '../log.js';

export interface JoinOptions {
  /** How long the engine ping waits for an answer (default: the smaller of 5s and the heartbeat). */
  probeTimeoutMs?: number;
  /** Random source for --delay (tests). */
  random?: () => number;
}

/** Classic's text for a backend without registration (docker/pkg/discovery's ErrNotImplemented), with the way out. */
export function joinNotSupported(scheme: string): string {
  return `${scheme}:// discovery does not support join: not implemented in this discovery service ` +
    '(use token://, consul://, etcd:// or zk://, or list the engines on the managers)';
}

export type ProbeResult = { ok: true; note?: string } | { ok: false; reason: string };

/**
 * Does a Docker engine answer at `addr`? GET /_ping, expecting 200. An engine
 * serving TLS answers plain HTTP with Go's 400 "Client sent an HTTP request
 * to an HTTPS server": that counts as alive (managers talk TLS to it).
 */
export function probeEngine(addr: string, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const signals = [AbortSignal.timeout(timeoutMs)];
    if (signal) signals.push(signal);
    const req = http.get(`http://${addr}/_ping`, { agent: false, signal: AbortSignal.any(signals), headers: { 'User-Agent': 'swarm-join' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { if (body.length < 512) body += d; });
      res.on('error', () => undefined);
      res.on('end', () => {
        if (res.statusCode === 200) resolve({ ok: true });
        else if (res.statusCode === 400 && /HTTPS server/i.test(body)) resolve({ ok: true, note: 'the engine serves TLS' });
        else resolve({ ok: false, reason: `GET /_ping answered HTTP ${res.statusCode}: not a Docker engine API` });
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.name === 'AbortError' || err.name === 'TimeoutError') resolve({ ok: false, reason: `no answer to GET /_ping within ${formatMs(timeoutMs)}` });
      else resolve({ ok: false, reason: err.code ? `${err.code} (${err.message})` : err.message });
    });
  });
}

/**
 * Register `cfg.advertise` every heartbeat until `signal` aborts; resolves
 * then (within the current registration's round trip at most, without
 * waiting for it). Throws DiscoveryError at once when the backend cannot
 * register.
 */
export async function runJoin(cfg: JoinConfig, discovery: Discovery, signal: AbortSignal, opts: JoinOptions = {}): Promise<void> {
  const register = discovery.register?.bind(discovery);
  if (!register) throw new DiscoveryError(joinNotSupported(discovery.scheme));
  if (signal.aborted) return;
  const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  const pause = (ms: number): Promise<void> => sleep(ms, undefined, { signal }).catch(() => undefined);
  const addr = cfg.advertise;
  const every = formatMs(cfg.heartbeatMs);

  if (cfg.delayMs > 0) {
    const wait = Math.floor((opts.random ?? Math.random)() * cfg.delayMs);
    log.info('waiting a random delay before the first registration, to avoid synchronized registration', { delay: formatMs(wait) });
    await pause(wait);
    if (signal.aborted) return;
  }

  log.info(`registering on the discovery service every ${every}`, { addr, discovery: cfg.discovery, ttl: formatMs(cfg.ttlMs) });
  const probeTimeoutMs = opts.probeTimeoutMs ?? Math.min(5000, cfg.heartbeatMs);
  let engineDown = 0; // consecutive failed pings
  let engineSeen = false;
  let regFailed = 0; // consecutive failed registrations

  const checkEngine = async (): Promise<void> => {
    const r = await probeEngine(addr, probeTimeoutMs, signal);
    if (signal.aborted) return;
    if (r.ok) {
      if (engineDown > 0) log.info(`the Docker engine at ${addr} answers again`, { failedChecks: engineDown });
      else if (!engineSeen) log.debug(`the Docker engine at ${addr} answers`, r.note ? { note: r.note } : {});
      engineDown = 0;
      engineSeen = true;
      return;
    }
    if (engineDown === 0) {
      log.error(`no Docker engine answers at ${addr}: ${r.reason}. It is registered anyway (managers see it as unhealthy until it answers); checking again every ${every}`, { addr });
    } else {
      log.debug(`still no Docker engine at ${addr}`, { reason: r.reason, failedChecks: engineDown + 1 });
    }
    engineDown++;
  };

  const renew = async (): Promise<void> => {
    try {
      await register(addr, cfg.ttlMs);
      if (signal.aborted) return;
      if (regFailed > 0) log.info('registration on the discovery service succeeds again', { addr, failures: regFailed });
      else log.debug('registered on the discovery service', { addr, ttl: formatMs(cfg.ttlMs) });
      regFailed = 0;
    } catch (err) {
      if (signal.aborted) return;
      const message = (err as Error)?.message ?? String(err);
      if (regFailed === 0) log.warn(`registration on the discovery service failed: ${message}; retrying every ${every}`, { addr, discovery: cfg.discovery });
      else log.debug('registration on the discovery service failed again', { addr, error: message, failures: regFailed + 1 });
      regFailed++;
    }
  };

  while (!signal.aborted) {
    const started = Date.now();
    // One round at a time: a slow store delays the next renewal instead of piling them up.
    await Promise.race([Promise.all([checkEngine(), renew()]), aborted]);
    if (signal.aborted) break;
    await pause(Math.max(0, started + cfg.heartbeatMs - Date.now()));
  }
}

/** Build the backend for a join (or list), turning its refusals into flag errors. */
export function openDiscovery(uri: string, heartbeatMs: number, opts: ReadonlyMap<string, string>): Discovery {
  try {
    return createDiscovery(uri, { heartbeatMs, opts });
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}

/** close() the backend, giving up after `ms`. */
export async function closeDiscovery(d: Discovery, ms: number): Promise<void> {
  if (!d.close) return;
  await Promise.race([d.close().catch(() => undefined), sleep(ms, undefined, { ref: false })]);
}

export const joinCommand: CommandModule = {
  command: 'join [discovery]',
  aliases: ['j'],
  describe: 'Join a docker cluster',
  builder: (y) => y
    .usage('swarm join [OPTIONS] <discovery>\n\nJoin a docker cluster: register this engine on the discovery service, every heartbeat')
    .positional('discovery', {
      type: 'string',
      describe: 'discovery service to use ($SWARM_DISCOVERY): token://<token>, consul://<ip>/<path>, etcd://<ip1>,<ip2>/<path>, zk://<ip1>,<ip2>/<path>',
    })
    .option('advertise', {
      alias: 'addr', type: 'string',
      describe: 'Address of the Docker Engine joining the cluster. Swarm manager(s) MUST be able to reach the Docker Engine at this address. ($SWARM_ADVERTISE)',
    })
    .option('heartbeat', { type: 'string', default: '60s', describe: 'period between each heartbeat' })
    .option('ttl', { type: 'string', default: '180s', describe: 'set the expiration of an ephemeral node' })
    .option('delay', { type: 'string', default: '0s', describe: 'add a random delay in [0s,delay) to avoid synchronized registration' })
    .option('discovery-opt', { type: 'string', describe: DISCOVERY_OPT_HELP }),
  handler: async (argv) => {
    const cfg = parseJoinConfig(argv as Record<string, any>);
    const discovery = openDiscovery(cfg.discovery, cfg.heartbeatMs, cfg.discoveryOpts);
    if (typeof discovery.register !== 'function') throw new ConfigError(joinNotSupported(discovery.scheme));
    const ac = new AbortController();
    const shutdown = (sig: string): void => {
      if (ac.signal.aborted) return;
      log.info('shutting down', { signal: sig });
      ac.abort();
      // The entry is not removed: it expires with its TTL, as in classic.
      setTimeout(() => process.exit(0), 1000).unref();
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    try {
      await runJoin(cfg, discovery, ac.signal);
    } finally {
      await closeDiscovery(discovery, 500);
    }
    process.exit(0);
  },
};
