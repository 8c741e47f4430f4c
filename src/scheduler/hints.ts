// TEMPORARY stand-in until the scheduler branch lands its hints module.
import type { Node } from './node.js';
import type { ScheduleRequest } from './request.js';
export function applyHints(request: ScheduleRequest, body: any, _nodes: readonly Node[]): { request: ScheduleRequest; body: any } {
  return { request, body };
}
