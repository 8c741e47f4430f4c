import type { Cluster } from '../cluster/cluster.js';

/** What handlers need besides the request: the cluster and how it was configured. */
export interface ApiContext {
  cluster: Cluster;
  strategy: string;
  filters: string[];
  cors: boolean;
  /** Refresh an engine before answering `ps --filter node=...` (classic --refresh-on-node-filter). */
  refreshOnNodeFilter: boolean;
  /** Names whose `ps --filter name=` forces a refresh (classic --container-name-refresh-filter). */
  containerNameRefreshFilter: string;
  role: 'primary' | 'replica';
}
