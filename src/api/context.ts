import type { ClusterApi } from '../cluster/index.js';
import type { AccessControl } from './access.js';

/** What handlers need besides the request: the cluster facade and how the manager was configured. */
export interface ApiContext {
  cluster: ClusterApi;
  strategy: string;
  filters: string[];
  cors: boolean;
  /** This manager's role now (changes with the election under --replication). */
  role: 'primary' | 'replica';
  /** A replica's primary: the address it forwards to, when one is elected. */
  primary?: string;
  /** The manager's TLS certificate (--tlscert) now: `docker info` warns before it expires. */
  tlsCert?: { file: string; notAfter: Date };
  /** Per-user access control (--access-policy): checked in the route wrapper (./access.ts). */
  access?: AccessControl;
}
