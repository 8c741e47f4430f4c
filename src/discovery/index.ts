// Discovery backends by scheme name. A value without a scheme is a nodes
// list, as in classic Swarm (`127.0.0.1:5000,127.0.0.1:5001`).
import { DiscoveryError, settleAfterOutage, type Discovery, type DiscoveryOptions } from './discovery.js';
import { log } from '../log.js';
import { NodesDiscovery } from './nodes.js';
import { FileDiscovery } from './file.js';
import { TokenDiscovery, TOKEN_OPTS } from './token.js';

// The store backends are required on first use of their scheme, not at start:
// etcd3 brings gRPC and protobufjs (~23 MB RSS, 0.4 s to load) and
// node-zookeeper-client ~9 MB, which a manager on nodes:// or file:// never
// needs. Synchronous (createDiscovery is), hence require(); types stay static.
/* eslint-disable @typescript-eslint/no-require-imports */
const etcd = (): typeof import('./etcd.js') => require('./etcd.js');
const consul = (): typeof import('./consul.js') => require('./consul.js');
const zk = (): typeof import('./zk.js') => require('./zk.js');
/* eslint-enable @typescript-eslint/no-require-imports */

export type { Discovery, DiscoveryOptions, LockStore } from './discovery.js';
export { DiscoveryError, isLockStore } from './discovery.js';

export type DiscoveryFactory = (rest: string, o: DiscoveryOptions) => Discovery;

/** Every backend, by the scheme of its URL. */
export const BACKENDS: Record<string, DiscoveryFactory> = {
  nodes: (rest) => new NodesDiscovery(rest),
  file: (rest, o) => new FileDiscovery(rest, o.heartbeatMs),
  token: (rest, o) => { checkOptions('token', o, TOKEN_OPTS); return new TokenDiscovery(rest, o); },
  etcd: (rest, o) => { const m = etcd(); checkOptions('etcd', o, m.ETCD_OPTIONS); return new m.EtcdDiscovery(rest, o); },
  consul: (rest, o) => { const m = consul(); checkOptions('consul', o, m.CONSUL_OPTS); return new m.ConsulDiscovery(rest, o); },
  zk: (rest, o) => { const m = zk(); checkOptions('zk', o, m.ZK_OPTIONS); return new m.ZkDiscovery(rest, o); },
};

/** Options every backend accepts; a backend adds its own. */
const COMMON_OPTS = new Set<string>();

/** Refuse `--discovery-opt` keys a backend does not know, naming them. */
export function checkOptions(scheme: string, o: DiscoveryOptions, known: readonly string[]): void {
  for (const k of o.opts.keys()) {
    if (!COMMON_OPTS.has(k) && !known.includes(k)) throw new DiscoveryError(`unsupported discovery option "${k}" for ${scheme}://`);
  }
}

export function createDiscovery(uri: string, o: DiscoveryOptions): Discovery {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(uri);
  const scheme = m ? m[1].toLowerCase() : 'nodes';
  const rest = m ? m[2] : uri;
  const make = Object.prototype.hasOwnProperty.call(BACKENDS, scheme) ? BACKENDS[scheme] : undefined;
  if (!make) throw new DiscoveryError(`unsupported discovery scheme "${scheme}"`);
  if (scheme === 'nodes' || scheme === 'file') checkOptions(scheme, o, []);
  return settled(make(rest, o), o.heartbeatMs);
}

/**
 * Every backend's watch, with drops held back for two heartbeats after the
 * store was away (see settleAfterOutage): joins whose entries lapsed during
 * the outage register again on their next heartbeat, and their engines are
 * not dropped and re-added meanwhile.
 */
function settled(d: Discovery, heartbeatMs: number): Discovery {
  const watch = d.watch.bind(d);
  const settleMs = 2 * Math.max(heartbeatMs, 1000);
  d.watch = (onEntries, onError) => {
    const s = settleAfterOutage(onEntries, onError, settleMs, (missing) =>
      log.info('discovery: the store answers again; nodes missing from its list are kept while their joins register again', { missing: missing.join(','), ms: settleMs }));
    const stop = watch(s.entries, s.error);
    return () => { s.stop(); stop(); };
  };
  return d;
}
