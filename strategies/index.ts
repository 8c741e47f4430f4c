// Strategy registry.
import type { Strategy } from './strategy.js';
import { SpreadStrategy } from './spread.js';
import { BinpackStrategy } from './binpack.js';
import { RandomStrategy } from './random.js';

export type { Strategy } from './strategy.js';
export { SpreadStrategy, BinpackStrategy, RandomStrategy };

export const STRATEGIES: Record<string, () => Strategy> = {
  spread: () => new SpreadStrategy(),
  binpack: () => new BinpackStrategy(),
  random: () => new RandomStrategy(),
};

export const DEFAULT_STRATEGY = 'spread';

export function createStrategy(name: string): Strategy {
  // "binpacking" is classic's compatibility alias.
  const key = name === 'binpacking' ? 'binpack' : name;
  const make = Object.prototype.hasOwnProperty.call(STRATEGIES, key) ? STRATEGIES[key] : undefined;
  if (!make) throw new Error(`unknown strategy: ${name}`);
  return make();
}
