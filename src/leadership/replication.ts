// Primary/replica managers: every manager runs for the leader lock of the
// store (candidate) and follows who holds it (follower), as classic Swarm's
// leadership package did. The holder is the primary; the others are
// replicas that forward to it. Role changes are reported; what to do about
// them (swap the API handlers) is the caller's.
import { EventEmitter } from 'node:events';
import type { LockStore } from '../discovery/discovery.js';
import { log } from '../log.js';

export type Role = 'primary' | 'replica';

export interface RoleState {
  role: Role;
  /** The primary's advertised address (a replica's target); undefined while there is none. */
  primary: string | undefined;
}

/**
 * Emits 'change' (RoleState) whenever the role or the primary's address
 * changes. Starts as a replica with no known primary.
 */
export class Replication extends EventEmitter {
  private state: RoleState = { role: 'replica', primary: undefined };
  private held = false;
  private leader: string | undefined;
  private stopCampaign: (() => Promise<void>) | null = null;
  private stopFollow: (() => void) | null = null;

  constructor(private readonly store: LockStore, readonly advertise: string, private readonly ttlMs: number) {
    super();
  }

  get current(): RoleState { return this.state; }

  start(): void {
    this.stopCampaign = this.store.campaign(this.advertise, this.ttlMs,
      (held) => { this.held = held; this.update(); },
      (err) => log.warn('leader election: the store failed', { error: err.message }));
    this.stopFollow = this.store.follow(
      (value) => { this.leader = value; this.update(); },
      (err) => log.warn('leader election: cannot follow the leader', { error: err.message }));
  }

  async stop(): Promise<void> {
    this.stopFollow?.();
    await this.stopCampaign?.();
  }

  private update(): void {
    let next: RoleState;
    if (this.held) {
      next = { role: 'primary', primary: this.advertise };
    } else if (this.state.role === 'primary' && (this.leader === undefined || this.leader === this.advertise)) {
      // The lock could not be renewed (the store is away) but nobody else
      // holds it: keep serving as primary rather than leave the cluster with
      // none. A manager that is seen holding it takes over from here.
      next = this.state;
    } else {
      // A stale lock naming this manager (it lost the lock and the key is not
      // gone yet) must never make a replica forward to itself (classic #1491).
      const primary = this.leader && this.leader !== this.advertise ? this.leader : undefined;
      next = { role: 'replica', primary };
    }
    if (next.role === this.state.role && next.primary === this.state.primary) return;
    this.state = next;
    log.info(next.role === 'primary' ? 'leader election: this manager is the primary' : 'leader election: this manager is a replica', { primary: next.primary ?? '(none)' });
    this.emit('change', next);
  }
}
