// The interface every placement filter implements (the plugins live in
// filters/), and what filters share. Filters are pure: they map node
// snapshots to the subset that may take the request.
import type { Node } from './node.js';
import type { ScheduleRequest } from './request.js';
import { formatExpr, type Expr } from './expr.js';

export interface Filter {
  readonly name: string;
  /**
   * Keep the nodes that may run the request. `soft` is true on the first
   * pass, when soft expressions (`==~`, `!=~`) still count.
   *
   * Throw when no node is left (returning an empty list counts the same).
   * By default the scheduler reports classic Swarm's summary, "Unable to find
   * a node that satisfies the following conditions" followed by the
   * describe() lists of every filter up to this one, keeps the thrown error
   * as its `cause`, and retries once without soft rules if the request has
   * any. Throw a FilterError with `final: true` to have the message shown
   * as-is instead, with no retry (e.g. the health filter's "No healthy node
   * available in the cluster").
   *
   * Returning `nodes` itself when every node stays is fine (keepIf() does):
   * the scheduler never changes a list it is given.
   */
  filter(req: ScheduleRequest, nodes: readonly Node[], soft: boolean): readonly Node[];
  /** Human-readable conditions this filter imposes on `req`, e.g. "port 80 (Bridge mode)". */
  describe(req: ScheduleRequest): string[];
}

/** How a filter is registered: filters/index.ts maps each name to one. */
export interface FilterEntry {
  /** One line for `swarm manage --help`. */
  readonly description: string;
  create(): Filter;
}

export interface FilterErrorOptions {
  /**
   * The failure is the whole story: the scheduler answers with this message
   * verbatim (a SchedulingError, 500) rather than the conditions summary,
   * and does not retry without soft rules, which could not help.
   */
  final?: boolean;
  cause?: unknown;
}

/** What a filter throws when it leaves no node. Any Error works; this one can be final. */
export class FilterError extends Error {
  readonly final: boolean;
  constructor(message: string, opts: FilterErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'FilterError';
    this.final = opts.final ?? false;
  }
}

/** Is `err` a FilterError asking to be shown as-is? */
export function isFinalFilterError(err: unknown): err is FilterError {
  return err instanceof FilterError && err.final;
}

/**
 * The loop the expression filters share: apply each rule in turn (soft ones
 * only on the soft pass), keep the nodes `keep` accepts, and fail naming the
 * first rule that leaves no node.
 */
export function narrowBy(kind: string, rules: readonly Expr[], nodes: readonly Node[], soft: boolean, keep: (rule: Expr, node: Node) => boolean): readonly Node[] {
  let candidates = nodes;
  for (const rule of rules) {
    if (rule.soft && !soft) continue;
    candidates = keepIf(candidates, (n) => keep(rule, n));
    if (candidates.length === 0) throw new FilterError(`unable to find a node that satisfies the ${kind} ${formatExpr(rule)}`);
  }
  return candidates;
}

/**
 * The nodes `keep` accepts, in order: `nodes` itself when it accepts them all.
 * Most creates drop no node in most filters, and a copy of 1,000 nodes per
 * filter per create was garbage the collector paid for under load.
 */
export function keepIf(nodes: readonly Node[], keep: (node: Node) => boolean): readonly Node[] {
  for (let i = 0; i < nodes.length; i++) {
    if (keep(nodes[i])) continue;
    const out = nodes.slice(0, i);
    for (let j = i + 1; j < nodes.length; j++) if (keep(nodes[j])) out.push(nodes[j]);
    return out;
  }
  return nodes;
}
