// Filters, then strategy: pure placement over node snapshots.
import { SchedulingError } from '../errors.js';
import type { Filter } from '../../filters/filter.js';
import type { Strategy } from '../../strategies/strategy.js';
import { hasSoft } from './expr.js';
import type { Node } from './node.js';
import type { ScheduleRequest } from './request.js';

export const NO_RESOURCES_MESSAGE = 'no resources available to schedule container';
export const CONDITIONS_PREFIX = 'Unable to find a node that satisfies the following conditions';

export class Scheduler {
  constructor(
    readonly filters: Filter[],
    readonly strategy: Strategy,
  ) {}

  /**
   * Candidate nodes, best first. Soft expressions count on the first pass;
   * if that fails and the request has any, retry without them.
   * Throws SchedulingError.
   */
  select(req: ScheduleRequest, nodes: readonly Node[]): Node[] {
    try {
      return this.pass(req, nodes, true);
    } catch (err) {
      if (!hasSoftRules(req) || (err as any)?.[HEALTH]) throw err;
      return this.pass(req, nodes, false);
    }
  }

  private pass(req: ScheduleRequest, nodes: readonly Node[], soft: boolean): Node[] {
    let candidates: Node[] = [...nodes];
    for (let i = 0; i < this.filters.length; i++) {
      const f = this.filters[i];
      let failure: unknown;
      try {
        candidates = f.filter(req, candidates, soft);
      } catch (err) {
        failure = err;
      }
      if (failure === undefined && candidates.length > 0) continue;
      if (f.name === 'health') {
        const e = new SchedulingError(failure instanceof Error ? failure.message : 'No healthy node available in the cluster');
        Object.defineProperty(e, HEALTH, { value: true });
        throw e;
      }
      const e = new SchedulingError(conditionsMessage(this.filters.slice(0, i + 1), req));
      if (failure !== undefined) e.cause = failure;
      throw e;
    }
    try {
      const ranked = this.strategy.rankAndSort(req, candidates);
      if (ranked.length === 0) throw new SchedulingError(NO_RESOURCES_MESSAGE);
      return ranked;
    } catch (err) {
      const e = new SchedulingError(NO_RESOURCES_MESSAGE);
      if (!(err instanceof SchedulingError && err.message === NO_RESOURCES_MESSAGE)) e.cause = err;
      throw e;
    }
  }
}

const HEALTH = Symbol('health');

function hasSoftRules(req: ScheduleRequest): boolean {
  return hasSoft(req.constraints) || hasSoft(req.affinities) || hasSoft(req.whitelists);
}

/**
 * Classic's message: every filter's describe() up to and including the
 * failing one, each non-empty list bracketed like Go's %v of a []string.
 * Classic put a newline before each list; we keep the message on one line.
 */
export function conditionsMessage(filters: readonly Filter[], req: ScheduleRequest): string {
  const lists = filters.map((f) => f.describe(req)).filter((l) => l.length > 0);
  return [CONDITIONS_PREFIX, ...lists.map((l) => `[${l.join(' ')}]`)].join(' ');
}
