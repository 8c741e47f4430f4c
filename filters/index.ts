// Filter registry: every filter by name, classic Swarm's default order, and
// the `swarm manage --help` text. The only module that imports the plugins.
import { helpText, type Filter, type FilterEntry } from '../src/scheduler/index.js';
import { HealthFilter } from './health.js';
import { PortFilter } from './port.js';
import { ContainerSlotsFilter } from './containerslots.js';
import { DependencyFilter } from './dependency.js';
import { AffinityFilter } from './affinity.js';
import { ConstraintFilter } from './constraint.js';
import { WhitelistFilter } from './whitelist.js';

export type { Filter, FilterEntry } from '../src/scheduler/index.js';
export { HealthFilter, PortFilter, ContainerSlotsFilter, DependencyFilter, AffinityFilter, ConstraintFilter, WhitelistFilter };

/** Every filter, in classic Swarm's default order. */
export const FILTERS: Readonly<Record<string, FilterEntry>> = {
  health: { description: 'healthy engines only', create: () => new HealthFilter() },
  port: { description: 'engines where the host ports are free', create: () => new PortFilter() },
  containerslots: { description: 'engines under their containerslots=N label', create: () => new ContainerSlotsFilter() },
  dependency: { description: 'next to --volumes-from, --link, container:x', create: () => new DependencyFilter() },
  affinity: { description: 'near/away from containers, images, labels', create: () => new AffinityFilter() },
  constraint: { description: 'engines by name, ID or label', create: () => new ConstraintFilter() },
  whitelist: { description: 'engines named in whitelist:node==a|b', create: () => new WhitelistFilter() },
};

/** `--filter` unset: all of them, in this order (classic's default). */
export const DEFAULT_FILTERS: readonly string[] = Object.freeze(Object.keys(FILTERS));

/** `--filter` help: the names, their one-line descriptions and the default. */
export const FILTER_HELP = helpText(
  'filter to use (repeatable, or comma-separated);\ndefault: all, in this order:',
  Object.entries(FILTERS).map(([name, f]) => [name, f.description]),
);

export function createFilters(names: readonly string[]): Filter[] {
  return names.map((name) => {
    const entry = Object.prototype.hasOwnProperty.call(FILTERS, name) ? FILTERS[name] : undefined;
    if (!entry) throw new Error(`unknown filter: ${name}`);
    return entry.create();
  });
}
