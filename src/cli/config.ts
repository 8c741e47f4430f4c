// `swarm manage` flags parsed once, at the edge, into a typed config.
import { parseDuration } from '../util/duration.js';
import { parseHost, type ListenAddr } from '../api/server.js';
import { DEFAULT_FILTERS, createFilters } from '../../filters/index.js';
import { DEFAULT_STRATEGY, createStrategy } from '../../strategies/index.js';

export interface ManageConfig {
  hosts: ListenAddr[];
  discovery: string;
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
  warnings: string[];
}

export class ConfigError extends Error {}

const DURATION = (name: string, v: unknown): number => {
  try { return parseDuration(String(v)); } catch { throw new ConfigError(`invalid value "${v}" for flag --${name}: expected a duration like 30s`); }
};

/** Validate and type the raw yargs values (classic Swarm's rules; errors instead of log.Fatal). */
export function parseManageConfig(argv: Record<string, any>): ManageConfig {
  const warnings: string[] = [];
  const discovery = String(argv.discovery ?? process.env.SWARM_DISCOVERY ?? '').trim();
  if (!discovery) throw new ConfigError('discovery required to manage a cluster: swarm manage [OPTIONS] <discovery>, e.g. nodes://127.0.0.1:2375,127.0.0.1:2376');

  const hostsRaw: string[] = ([] as unknown[]).concat(argv.host ?? []).map(String).flatMap((h) => h.split(',')).filter(Boolean);
  if (!hostsRaw.length) hostsRaw.push(process.env.SWARM_HOST || 'tcp://127.0.0.1:3375');
  const hosts = hostsRaw.map((h) => { try { return parseHost(h); } catch (e) { throw new ConfigError((e as Error).message); } });

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
    throw new ConfigError('--engine-refresh-retry is deprecated; use --engine-failure-retry');
  }
  const heartbeatMs = DURATION('heartbeat', argv.heartbeat ?? '60s');
  if (heartbeatMs < 1000) throw new ConfigError('--heartbeat should be at least 1s');

  const driver = String(argv['cluster-driver'] ?? 'swarm');
  if (driver !== 'swarm') throw new ConfigError(`unsupported cluster driver "${driver}": only "swarm" exists`);

  let overcommit = 0.05;
  let createRetry = 0;
  for (const opt of ([] as unknown[]).concat(argv['cluster-opt'] ?? []).map(String)) {
    const i = opt.indexOf('=');
    if (i < 0) throw new ConfigError(`invalid --cluster-opt "${opt}": want key=value`);
    const k = opt.slice(0, i);
    const v = opt.slice(i + 1);
    if (k === 'swarm.overcommit') {
      overcommit = Number(v);
      if (!Number.isFinite(overcommit) || overcommit <= -1) throw new ConfigError(`invalid value for swarm.overcommit: ${v} (must be > -1)`);
      if (overcommit < 0) warnings.push('-1 < swarm.overcommit < 0 will make swarm take less resource than docker engine offers');
    } else if (k === 'swarm.createretry') {
      createRetry = Number(v);
      if (!Number.isInteger(createRetry) || createRetry < 0) throw new ConfigError(`invalid value for swarm.createretry: ${v} (must be >= 0)`);
    } else {
      throw new ConfigError(`unsupported cluster option "${k}"`);
    }
  }

  for (const f of ['tls', 'tlsverify', 'tlscacert', 'tlscert', 'tlskey', 'replication']) {
    if (argv[f]) throw new ConfigError(`--${f} is not available in this build yet`);
  }

  return {
    hosts, discovery, strategy, filters, refreshMinMs, refreshMaxMs, failureRetry, heartbeatMs,
    cors: !!argv['api-enable-cors'], overcommit, createRetry,
    refreshOnNodeFilter: !!argv['refresh-on-node-filter'],
    containerNameRefreshFilter: String(argv['container-name-refresh-filter'] ?? ''),
    warnings,
  };
}
