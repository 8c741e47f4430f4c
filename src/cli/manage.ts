// `swarm manage`: wire discovery -> cluster -> API and run until signalled.
import type { CommandModule } from 'yargs';
import { parseManageConfig, type ManageConfig } from './config.js';
import { Cluster } from '../cluster/cluster.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { createDiscovery, isLockStore } from '../discovery/index.js';
import { ApiServer } from '../api/server.js';
import { createHandlers } from '../api/app.js';
import { createReplicaHandlers } from '../api/replica.js';
import { preloadExpress } from '../api/express.js';
import { Replication } from '../leadership/replication.js';
import { ConfigError } from './config.js';
import type { ApiContext } from '../api/context.js';
import type { AccessControl } from '../api/access.js';
import type { AuditLog, PolicyHolder } from '../access/index.js';
import { createFilters, FILTER_HELP } from '../../filters/index.js';
import { createStrategy, DEFAULT_STRATEGY, STRATEGY_HELP } from '../../strategies/index.js';
import { startTokenServer, DEFAULT_TOKEN_ADDR, type TokenServer } from '../tokenserver/index.js';
import { log } from '../log.js';
import { exitOnSignal } from './signals.js';
import { loadTlsMaterial, TlsConfigError, type TlsFiles, type TlsMaterial } from '../util/tls.js';

/** A discovery for the log: a list of 1,000 addresses (`nodes://a,b,...` or bare `a,b,...`) as its first ones and a count. */
export function shortDiscovery(url: string): string {
  const scheme = url.startsWith('nodes://') ? 'nodes://' : '';
  const list = scheme ? url.slice(scheme.length) : url.includes('://') ? '' : url;
  const addrs = list ? list.split(',') : [];
  return addrs.length > 3 ? `${scheme}${addrs.slice(0, 3).join(',')},... (${addrs.length} addresses)` : url;
}

export interface Manager {
  cluster: Cluster; server: ApiServer; context: ApiContext; replication?: Replication;
  /** Re-read the TLS files (SIGHUP); keeps the old ones and throws if the new ones do not load. */
  reloadTls(): void;
  /** SIGHUP under access control: re-read the policy (the last good one stays), reopen the audit log. */
  reloadAccess(): void;
  /**
   * Stop: with `graceMs`, gracefully (no new connections, long streams ended
   * cleanly, requests in flight given up to graceMs, the leader lock let go
   * at once); without, everything cut at once.
   */
  stop(graceMs?: number): Promise<void>;
}

/**
 * SIGTERM/SIGINT: requests in flight get DRAIN_MS to finish; the process is
 * gone by SHUTDOWN_GRACE_MS in any case (the rest lets go of engines and store).
 */
export const SHUTDOWN_GRACE_MS = 10_000;
export const DRAIN_MS = 8_000;

/** Read the TLS files, refusing bad ones with classic's texts (a config error: no stack). */
function loadTls(files: TlsFiles): TlsMaterial {
  try {
    const m = loadTlsMaterial(files);
    log.info('TLS certificates loaded', {
      mode: files.verify ? 'tlsverify' : 'tls', cert: files.cert, key: files.key, ca: files.ca ?? '(none)',
      certExpires: m.certInfo.notAfter.toISOString(), caExpires: m.caInfo?.notAfter.toISOString() ?? '(none)',
    });
    return m;
  } catch (err) {
    if (err instanceof TlsConfigError) throw new ConfigError(err.message);
    throw err;
  }
}

/** How to stop a manager (see Manager.stop). */
export type StopManager = (graceMs?: number) => Promise<void>;

/**
 * Start a manager from a parsed config (also used in-process by tests and
 * benchmarks). It resolves once every engine was tried once; `listening` gets
 * the stop as soon as the API listens, so a signal during a long start-up
 * (an engine that never answers) stops it the same way.
 */
export async function startManager(cfg: ManageConfig, listening?: (stop: StopManager) => void): Promise<Manager> {
  for (const w of cfg.warnings) log.warn(w);
  const tokenServer = cfg.tokenServer ? await startTokenServer(cfg.tokenServer) : undefined;
  const withToken = (stop: StopManager): StopManager => async (graceMs) => { await stop(graceMs); await tokenServer?.close(); };
  try {
    const mgr = await startParts(cfg, withEmbeddedTokenUrl(cfg, tokenServer), listening && ((stop) => listening(withToken(stop))));
    return { ...mgr, stop: withToken(mgr.stop) };
  } catch (err) {
    await tokenServer?.close();
    throw err;
  }
}

async function startParts(cfg: ManageConfig, discoveryOpts: ReadonlyMap<string, string>, listening?: (stop: StopManager) => void): Promise<Manager> {
  const tls = cfg.tls ? loadTls(cfg.tls) : undefined;
  const discovery = createDiscovery(cfg.discovery, { heartbeatMs: cfg.heartbeatMs, opts: discoveryOpts });
  const scheduler = new Scheduler(createFilters(cfg.filters), createStrategy(cfg.strategy));
  const cluster = new Cluster({
    refreshMinMs: cfg.refreshMinMs, refreshMaxMs: cfg.refreshMaxMs, failureRetry: cfg.failureRetry,
    overcommit: cfg.overcommit, createRetry: cfg.createRetry,
    refreshOnNodeFilter: cfg.refreshOnNodeFilter, containerNameRefreshFilter: cfg.containerNameRefreshFilter,
    transport: { tls },
  }, scheduler);
  const context: ApiContext = { cluster, strategy: cfg.strategy, filters: cfg.filters, cors: cfg.cors, role: 'primary' };
  const access = cfg.access ? await openAccess(cfg.access, !!cfg.replication) : undefined;
  if (access) context.access = access.control;
  if (tls && cfg.tls) context.tlsCert = { file: cfg.tls.cert, notAfter: tls.certInfo.notAfter };
  const server = new ApiServer(context);
  let replication: Replication | undefined;
  if (cfg.replication) {
    if (!isLockStore(discovery)) throw new ConfigError('Leader election is only supported with consul, etcd and zookeeper discovery.');
    // HA as a handler swap: a replica forwards everything to the primary.
    const primaryHandlers = createHandlers(context);
    const replicaHandlers = createReplicaHandlers(context);
    context.role = 'replica';
    cluster.setPrimary(false); // only the primary reschedules
    server.swap(replicaHandlers);
    replication = new Replication(discovery, cfg.replication.advertise, cfg.replication.ttlMs);
    replication.on('change', (st: { role: 'primary' | 'replica'; primary?: string }) => {
      context.role = st.role;
      cluster.setPrimary(st.role === 'primary');
      context.primary = st.primary;
      server.swap(st.role === 'primary' ? primaryHandlers : replicaHandlers);
    });
  }
  // One stop, whenever it comes (once; a second call gets the first's promise).
  let stopping: Promise<void> | undefined;
  const stop: StopManager = (graceMs) => stopping ??= (async () => {
    // No more acting on its own (rescheduling, stale copies) once it lets go of the lock.
    cluster.setPrimary(false);
    // Stops listening at once (the rest of close() waits for what is in flight).
    const drained = server.close(graceMs);
    // Let go of the leader lock now: a replica takes over at once, not after the TTL.
    await replication?.stop().catch((err: Error) => log.warn('leader election: could not let go of the lock', { error: err.message }));
    await drained;
    await access?.close();
    await cluster.stop();
    await discovery.close?.();
  })();
  try {
    // Listen first: /_ping and /info answer while engines load (they show
    // Pending); a create arriving meanwhile waits for cluster.ready().
    await server.listen(cfg.hosts, tls);
    listening?.(stop);
    const ready = cluster.watch(discovery);
    // In-process callers (tests, benches) get a manager whose engines were each tried once, as before.
    await ready;
  } catch (err) {
    // Stopped meanwhile: what failed is the stop's doing, and the stop cleans up.
    if (stopping) await stopping;
    else {
      // A busy port or a broken store: leave nothing behind (connections, timers).
      await server.close().catch(() => undefined);
      await access?.close().catch(() => undefined);
      await cluster.stop().catch(() => undefined);
      await discovery.close?.().catch(() => undefined);
      throw err;
    }
  }
  // Stopped during start-up: nothing more to start (no campaign for the lock).
  if (!stopping) {
    replication?.start();
    setImmediate(preloadExpress);
    log.info('manager started', { strategy: cfg.strategy, filters: cfg.filters.join(','), discovery: shortDiscovery(cfg.discovery), replication: cfg.replication ? cfg.replication.advertise : 'off' });
  }
  return {
    cluster, server, context, replication,
    reloadTls() {
      if (!cfg.tls) return;
      const m = loadTls(cfg.tls);
      server.setTls(m);
      cluster.dialer.setTls(m);
      context.tlsCert = { file: cfg.tls.cert, notAfter: m.certInfo.notAfter };
    },
    reloadAccess() {
      access?.holder.reload('SIGHUP');
      access?.control.audit?.reopen();
    },
    stop,
  };
}

/**
 * The policy (watched: an edit applies at once, a bad one is logged and the
 * last good policy stays) and the audit log. A policy that does not load
 * stops the start-up with its file, line and reason.
 */
async function openAccess(a: NonNullable<ManageConfig['access']>, replicated: boolean): Promise<{ control: AccessControl; holder: PolicyHolder; close(): Promise<void> }> {
  // loaded only when used (the YAML parser is not small)
  const { AuditLog, PolicyHolder } = await import('../access/index.js');
  let holder: PolicyHolder;
  try { holder = PolicyHolder.load(a.policy); } catch (err) { throw new ConfigError(`--access-policy: ${(err as Error).message}`); }
  let audit: AuditLog | undefined;
  try { audit = a.audit ? AuditLog.open(a.audit) : undefined; } catch (err) { holder.close(); throw new ConfigError(`--audit-log: ${(err as Error).message}`); }
  holder.watch();
  const p = holder.current;
  log.info('access control on', { policy: a.policy, admins: p.admins.size, users: p.users.size, teams: p.teams.size, revoked: p.revoked.size, audit: a.audit ?? '(none)' });
  if (replicated && !p.managers.size) {
    log.warn('access control with --replication: the policy lists no managers, so a primary takes requests a replica forwards as the replica\'s own; list the managers\' certificate common names under managers:');
  }
  return {
    holder,
    control: { policy: () => holder.current, audit, imageOwners: new Map() },
    async close() { holder.close(); await audit?.close(); },
  };
}

/** `token://<token>` with no service named anywhere uses the manager's own token server. */
function withEmbeddedTokenUrl(cfg: ManageConfig, ts: TokenServer | undefined): ReadonlyMap<string, string> {
  if (!ts || !/^token:\/\/[^/]*$/i.test(cfg.discovery) || cfg.discoveryOpts.has('token.url') || process.env.SWARM_TOKEN_URL) {
    return cfg.discoveryOpts;
  }
  return new Map(cfg.discoveryOpts).set('token.url', ts.url);
}

export const manageCommand: CommandModule = {
  command: 'manage [discovery]',
  aliases: ['m'],
  describe: 'Manage a docker cluster',
  builder: (y) => y
    .positional('discovery', { type: 'string', describe: 'discovery: nodes://a:p,b:p, file:///path, token://<token>, or a bare host:port list ($SWARM_DISCOVERY)' })
    .option('host', { alias: 'H', type: 'string', describe: 'ip/socket to listen on (tcp://host:port, unix:///path) ($SWARM_HOST)', default: undefined })
    .option('strategy', { type: 'string', default: DEFAULT_STRATEGY, describe: STRATEGY_HELP })
    .option('filter', { alias: 'f', type: 'string', describe: FILTER_HELP })
    .option('engine-refresh-min-interval', { type: 'string', default: '30s', describe: 'minimum interval between engine refreshes' })
    .option('engine-refresh-max-interval', { type: 'string', default: '60s', describe: 'maximum interval between engine refreshes' })
    .option('engine-failure-retry', { type: 'number', default: 3, describe: 'consecutive failures before an engine is marked unhealthy' })
    .option('engine-refresh-retry', { type: 'number', hidden: true, describe: 'deprecated; use --engine-failure-retry' })
    .option('heartbeat', { type: 'string', default: '60s', describe: 'period between each discovery poll' })
    .option('api-enable-cors', { alias: 'cors', type: 'boolean', default: false, describe: 'enable CORS headers in the remote API' })
    .option('cluster-driver', { alias: 'c', type: 'string', default: 'swarm', describe: 'cluster driver to use (swarm)' })
    .option('cluster-opt', { type: 'string', describe: 'cluster driver options: swarm.overcommit=0.05, swarm.createretry=0' })
    .option('discovery-opt', { type: 'string', describe: 'discovery options (key=value)' })
    .option('token-server', { type: 'string', describe: `run the token service for token:// in the manager, on this ip:port (default ${DEFAULT_TOKEN_ADDR}; write --token-server=<addr>)` })
    .option('token-server-data-dir', { type: 'string', describe: 'where the embedded token service keeps its tokens (default ~/.swarm/token-server)' })
    .option('refresh-on-node-filter', { type: 'boolean', default: false, describe: 'refresh engines when `ps` filters by node' })
    .option('container-name-refresh-filter', { type: 'string', default: '', describe: 'refresh engines when `ps` filters by this exact name' })
    .option('replication', { type: 'boolean', default: false, describe: 'enable Swarm manager replication (leader election in an etcd, zk or consul store)' })
    .option('replication-ttl', { type: 'string', default: '20s', describe: 'leader lock release time on failure' })
    .option('advertise', { alias: 'addr', type: 'string', describe: 'address of this manager for the other managers, ip:port ($SWARM_ADVERTISE)' })
    .option('tls', { type: 'boolean', describe: 'use TLS; implied by --tlsverify=true (listens on 3376 with no -H)' })
    .option('tlsverify', { type: 'boolean', describe: 'use TLS and verify the remote (clients and engines) against --tlscacert' })
    .option('tlscacert', { type: 'string', describe: 'trust only remotes providing a certificate signed by the CA given here' })
    .option('tlscert', { type: 'string', describe: 'path to TLS certificate file (served to clients, and the client certificate towards engines)' })
    .option('tlskey', { type: 'string', describe: 'path to TLS key file' })
    .option('access-policy', { type: 'string', describe: 'per-user access control: a YAML or JSON policy of admins, users and teams; users are client certificate CNs (needs --tlsverify; re-read on change and SIGHUP)' })
    .option('audit-log', { type: 'string', describe: 'with --access-policy: one JSON line per request (user, decision, object) to this file, or - for stdout; reopened on SIGHUP' }),
  handler: async (argv) => {
    const cfg = parseManageConfig(argv as Record<string, any>);
    // A server must not die on one stray promise; log it loudly instead.
    process.on('unhandledRejection', (err) => log.error('unhandled rejection', { error: (err as Error)?.stack ?? String(err) }));
    // Certificate rotation without a restart; a bad new set keeps the old one.
    // Registered first: a SIGHUP during start-up must not kill the manager
    // (Node's default); it is applied once the manager is up.
    const live: { mgr?: Manager; hupPending: boolean } = { hupPending: false };
    const reload = (): void => {
      if (!cfg.tls && !cfg.access) { log.info('SIGHUP: no TLS in use, nothing to reload'); return; }
      if (!live.mgr) { live.hupPending = true; return; }
      if (cfg.access) live.mgr.reloadAccess();
      if (!cfg.tls) return;
      try { live.mgr.reloadTls(); } catch (err) { log.error('TLS reload failed; still serving the certificates loaded before', { error: (err as Error).message }); }
    };
    process.on('SIGHUP', reload);
    // SIGTERM/SIGINT stop it from the moment it listens: a start-up can last
    // as long as an engine takes not to answer, and the API answers meanwhile.
    let stop: StopManager | undefined;
    exitOnSignal(() => stop?.(DRAIN_MS) ?? Promise.resolve(), SHUTDOWN_GRACE_MS);
    const mgr = await startManager(cfg, (s) => { stop = s; });
    live.mgr = mgr;
    if (live.hupPending) reload();
    await new Promise(() => undefined); // run until signalled
  },
};
