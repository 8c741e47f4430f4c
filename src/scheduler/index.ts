// What filter and strategy plugins (filters/, strategies/) may use: they
// import from here and nowhere else, so the scheduler owns their contract.
export type { Node, NodeContainer, NodeImage, NodeNetwork, PortBinding } from './node.js';
export type { Dependencies, ScheduleRequest } from './request.js';
export { formatExpr, literalOf, matchExpr, patternTest, type Expr } from './expr.js';
export { FilterError, isFinalFilterError, keepIf, narrowBy, type Filter, type FilterEntry, type FilterErrorOptions } from './filter.js';
export { NO_RESOURCES, type Strategy, type StrategyEntry } from './strategy.js';
export { bestWeighed, byName, hasRoom, scores, weighNodes, type WeightedNode } from './weighted.js';
export { imageNames, imageNameSet, repositoryOf } from './images.js';
export { containerKeys, findContainer, type ContainerKeys } from './containers.js';
export { perList } from './perlist.js';
export { portsClash } from './resources.js';
export { helpText } from './registry.js';
export { SchedulingError } from '../errors.js';
