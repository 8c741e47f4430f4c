// Filter registry, in classic Swarm's default order.
import type { Filter } from './filter.js';
import { HealthFilter } from './health.js';
import { PortFilter } from './port.js';
import { ContainerSlotsFilter } from './containerslots.js';
import { DependencyFilter } from './dependency.js';
import { AffinityFilter } from './affinity.js';
import { ConstraintFilter } from './constraint.js';
import { WhitelistFilter } from './whitelist.js';

export type { Filter } from './filter.js';
export { HealthFilter, PortFilter, ContainerSlotsFilter, DependencyFilter, AffinityFilter, ConstraintFilter, WhitelistFilter };

export const FILTERS: Record<string, () => Filter> = {
  health: () => new HealthFilter(),
  port: () => new PortFilter(),
  containerslots: () => new ContainerSlotsFilter(),
  dependency: () => new DependencyFilter(),
  affinity: () => new AffinityFilter(),
  constraint: () => new ConstraintFilter(),
  whitelist: () => new WhitelistFilter(),
};

export const DEFAULT_FILTERS = ['health', 'port', 'containerslots', 'dependency', 'affinity', 'constraint', 'whitelist'];

export function createFilters(names: readonly string[]): Filter[] {
  return names.map((name) => {
    const make = Object.prototype.hasOwnProperty.call(FILTERS, name) ? FILTERS[name] : undefined;
    if (!make) throw new Error(`unknown filter: ${name}`);
    return make();
  });
}
