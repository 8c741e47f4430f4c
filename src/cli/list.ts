// `swarm list`: print the engine addresses the discovery service holds, one
// per line, and exit. As classic Swarm (cli/list.go): the backend's first
// list is the answer, its first error or no list within --timeout fails the
// command ("Timed out"). Unlike classic, entries are de-duplicated and
// sorted (numbers inside addresses compare as numbers: 10.0.0.9 before
// 10.0.0.10).
import type { CommandModule } from 'yargs';
import { DISCOVERY_OPT_HELP, parseListConfig, formatMs, type ListConfig } from './joinconfig.js';
import { closeDiscovery, openDiscovery } from './join.js';
import { DiscoveryError, type Discovery } from '../discovery/index.js';

/** Order addresses for people: digit runs compare by value, the rest as text. */
export function compareAddrs(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length; // "007" after "7"
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

export function sortEntries(addrs: readonly string[]): string[] {
  return [...new Set(addrs)].sort(compareAddrs);
}

/**
 * Wait for the backend's first list (up to cfg.timeoutMs) and return it,
 * sorted. Rejects with the backend's first error, or "Timed out".
 */
export function runList(cfg: ListConfig, discovery: Discovery): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let done = false;
    let stop: (() => void) | undefined;
    const finish = (fn: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stop?.(); // undefined when watch() calls back before returning: stopped below
      fn();
    };
    const timer = setTimeout(() => finish(() => reject(new DiscoveryError(
      `Timed out: no list from ${cfg.discovery} within ${formatMs(cfg.timeoutMs)}`,
    ))), cfg.timeoutMs);
    try {
      stop = discovery.watch(
        (addrs) => finish(() => resolve(sortEntries(addrs))),
        (err) => finish(() => reject(err)),
      );
      if (done) stop();
    } catch (err) {
      finish(() => reject(err as Error));
    }
  });
}

export const listCommand: CommandModule = {
  command: 'list [discovery]',
  aliases: ['l'],
  describe: 'List nodes in a cluster',
  builder: (y) => y
    .usage('swarm list [OPTIONS] <discovery>\n\nList nodes in a cluster: the addresses registered on the discovery service, one per line')
    .positional('discovery', {
      type: 'string',
      describe: 'discovery service to use ($SWARM_DISCOVERY): token://<token>, consul://<ip>/<path>, etcd://<ip1>,<ip2>/<path>, zk://<ip1>,<ip2>/<path>, file://path/to/file, [nodes://]<ip1>,<ip2>',
    })
    .option('timeout', { type: 'string', default: '10s', describe: 'timeout period' })
    .option('discovery-opt', { type: 'string', describe: DISCOVERY_OPT_HELP }),
  handler: async (argv) => {
    const cfg = parseListConfig(argv as Record<string, any>);
    // Classic gave the backend the timeout as its heartbeat (its poll period).
    const discovery = openDiscovery(cfg.discovery, cfg.timeoutMs, cfg.discoveryOpts);
    let entries: string[];
    try {
      entries = await runList(cfg, discovery);
    } finally {
      await closeDiscovery(discovery, 500);
    }
    const text = entries.length ? entries.join('\n') + '\n' : '';
    await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
    process.exit(0);
  },
};
