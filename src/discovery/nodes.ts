import type { Discovery } from './discovery.js';
import { parseEntries } from './discovery.js';

/** `nodes://a:1,b:2` (or the bare list): a fixed set of engines. */
export class NodesDiscovery implements Discovery {
  readonly scheme = 'nodes';
  readonly addrs: string[];
  constructor(spec: string) {
    this.addrs = parseEntries(spec.split(','));
    if (this.addrs.length === 0) throw new Error('nodes discovery: no nodes given');
  }
  watch(onEntries: (addrs: string[]) => void): () => void {
    setImmediate(() => onEntries(this.addrs));
    return () => undefined;
  }
}
