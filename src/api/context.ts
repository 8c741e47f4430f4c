import type { ClusterApi } from '../cluster/index.js';

/** What handlers need besides the request: the cluster facade and how the manager was configured. */
export interface ApiContext {
  cluster: ClusterApi;
  strategy: string;
  filters: string[];
  cors: boolean;
  role: 'primary' | 'replica';
}
