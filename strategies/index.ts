// Strategy registry: every strategy by name, the default, and the
// `swarm manage --help` text. The only module that imports the plugins.
import { helpText, type Strategy, type StrategyEntry } from '../src/scheduler/index.js';
import { SpreadStrategy } from './spread.js';
import { BinpackStrategy } from './binpack.js';
import { RandomStrategy } from './random.js';

export type { Strategy, StrategyEntry } from '../src/scheduler/index.js';
export { SpreadStrategy, BinpackStrategy, RandomStrategy };

export const STRATEGIES: Readonly<Record<string, StrategyEntry>> = {
  spread: { description: 'least loaded engine first', create: () => new SpreadStrategy() },
  binpack: { description: 'most loaded engine first', create: () => new BinpackStrategy() },
  random: { description: 'any engine with room, at random', create: () => new RandomStrategy() },
};

export const DEFAULT_STRATEGY = 'spread';

/** Other names accepted for a strategy: "binpacking" is classic's compatibility alias. */
export const STRATEGY_ALIASES: Readonly<Record<string, string>> = { binpacking: 'binpack' };

/** `--strategy` help: the names and their one-line descriptions. */
export const STRATEGY_HELP = helpText(
  'placement strategy:',
  Object.entries(STRATEGIES).map(([name, s]) => {
    const aliases = Object.keys(STRATEGY_ALIASES).filter((a) => STRATEGY_ALIASES[a] === name);
    return [name, aliases.length ? `${s.description} (also: ${aliases.join(', ')})` : s.description];
  }),
);

export function createStrategy(name: string): Strategy {
  const key = Object.prototype.hasOwnProperty.call(STRATEGY_ALIASES, name) ? STRATEGY_ALIASES[name] : name;
  const entry = Object.prototype.hasOwnProperty.call(STRATEGIES, key) ? STRATEGIES[key] : undefined;
  if (!entry) throw new Error(`unknown strategy: ${name}`);
  return entry.create();
}
