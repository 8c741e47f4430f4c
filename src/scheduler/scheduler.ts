// Filters, then strategy: pure placement over node snapshots.
import { SchedulingError } from '../errors.js';
import { isFinalFilterError, type Filter } from './filter.js';
import { NO_RESOURCES, type Strategy } from './strategy.js';
import { hasSoft } from './expr.js';
import { hasImage, preferNodesWithImage } from './hints.js';
import type { Node } from './node.js';
import type { ScheduleRequest } from './request.js';

export const CONDITIONS_PREFIX = 'Unable to find a node that satisfies the following conditions';

export class Scheduler {
  constructor(
    readonly filters: Filter[],
    readonly strategy: Strategy,
  ) {}

  /**
   * Candidate nodes, best first. Soft expressions count on the first pass;
   * if that fails and the request has any, retry without them (unless a
   * filter failed with a final FilterError). Throws SchedulingError.
   */
  select(req: ScheduleRequest, nodes: readonly Node[]): Node[] {
    return this.passes(req, nodes, (candidates) => {
      const ranked = this.strategy.rankAndSort(req, candidates);
      if (ranked.length === 0) throw new SchedulingError(NO_RESOURCES);
      return ranked;
    });
  }

  /** The first of select(), found without ranking every candidate when the strategy can (Strategy.pick). */
  choose(req: ScheduleRequest, nodes: readonly Node[]): Node {
    return this.passes(req, nodes, (candidates) => this.first(req, candidates));
  }

  private first(req: ScheduleRequest, candidates: readonly Node[]): Node {
    const node = this.strategy.pick ? this.strategy.pick(req, candidates) : this.strategy.rankAndSort(req, candidates)[0];
    if (!node) throw new SchedulingError(NO_RESOURCES);
    return node;
  }

  /**
   * choose(), preferring the nodes that already have the image
   * (preferNodesWithImage). The preference is only worked out when the
   * plain choice lacks the image: a strategy's pick from a subset that holds
   * its pick of the whole set is that same node (spread and binpack rank by
   * one total order; random picks uniformly either way), so the preference
   * could change nothing else. Most creates use an image every node has: one
   * pass over the nodes then, not two. When no node with the image meets every
   * rule of the request, soft ones included, the plain choice stands (a
   * retry without soft rules would drop the request's own).
   */
  chooseNear(req: ScheduleRequest, nodes: readonly Node[]): Node {
    const plain = this.choose(req, nodes);
    if (!req.image || hasImage(plain, req.image)) return plain;
    const preferring = preferNodesWithImage(req, nodes);
    if (preferring === req) return plain;
    try {
      return this.pass(preferring, nodes, true, (candidates) => this.first(preferring, candidates));
    } catch {
      return plain;
    }
  }

  private passes<T>(req: ScheduleRequest, nodes: readonly Node[], rank: (candidates: readonly Node[]) => T): T {
    try {
      return this.pass(req, nodes, true, rank);
    } catch (err) {
      if (!hasSoftRules(req) || isFinalFilterError((err as Error)?.cause)) throw err;
      return this.pass(req, nodes, false, rank);
    }
  }

  private pass<T>(req: ScheduleRequest, nodes: readonly Node[], soft: boolean, rank: (candidates: readonly Node[]) => T): T {
    let candidates = nodes;
    for (let i = 0; i < this.filters.length; i++) {
      const f = this.filters[i];
      let failure: unknown;
      try {
        candidates = f.filter(req, candidates, soft);
      } catch (err) {
        failure = err;
      }
      if (failure === undefined && candidates.length > 0) continue;
      const message = isFinalFilterError(failure) ? failure.message : conditionsMessage(this.filters.slice(0, i + 1), req);
      const e = new SchedulingError(message);
      if (failure !== undefined) e.cause = failure;
      throw e;
    }
    try {
      return rank(candidates);
    } catch (err) {
      const e = new SchedulingError(NO_RESOURCES);
      if (!(err instanceof SchedulingError && err.message === NO_RESOURCES)) e.cause = err;
      throw e;
    }
  }
}

function hasSoftRules(req: ScheduleRequest): boolean {
  return hasSoft(req.constraints) || hasSoft(req.affinities) || hasSoft(req.whitelists);
}

/**
 * Classic's message, byte for byte: the prefix, a space, then every filter's
 * describe() up to and including the failing one, each non-empty list on a
 * line of its own and bracketed like Go's %v of a []string:
 * "Unable to find ... conditions \n[port 80 (Bridge mode)]\n[storage==ssd]".
 */
export function conditionsMessage(filters: readonly Filter[], req: ScheduleRequest): string {
  const lists = filters.map((f) => f.describe(req)).filter((l) => l.length > 0);
  return `${CONDITIONS_PREFIX} ${lists.map((l) => `\n[${l.join(' ')}]`).join('')}`;
}
