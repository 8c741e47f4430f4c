// The manager's live policy: loaded at start-up (a bad file stops it there),
// then re-read when the file changes or on request. A bad edit is logged and
// the last good policy stays: a typo must not open or close the cluster.
import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { log } from '../log.js';
import { PolicyError } from './errors.js';
import { parsePolicy, readPolicyText, type Policy } from './policy.js';

/** Editors write in bursts (truncate, write, rename, chmod): one reload per burst. */
const DEBOUNCE_MS = 100;

const hash = (text: string): string => createHash('sha256').update(text).digest('hex');

export interface PolicyHolderEvents {
  change: [policy: Policy];
}

export class PolicyHolder extends EventEmitter<PolicyHolderEvents> {
  private policy: Policy;
  /** the text last read, good or bad: an event that changed nothing is not a reload */
  private seen: string;
  private watcher?: fs.FSWatcher;
  private timer?: NodeJS.Timeout;

  private constructor(readonly file: string, text: string) {
    super();
    this.policy = parsePolicy(text, file);
    this.seen = hash(text);
  }

  /** Read `file`; a missing or bad file throws the PolicyError (start-up refuses it). */
  static load(file: string): PolicyHolder {
    const abs = path.resolve(file);
    return new PolicyHolder(abs, readPolicyText(abs));
  }

  get current(): Policy {
    return this.policy;
  }

  /** Re-read the file now (`reason` goes to the log: "SIGHUP", "file changed"); false when the last good policy was kept. */
  reload(reason: string): boolean {
    let text: string;
    try {
      text = readPolicyText(this.file);
    } catch (e) {
      this.seen = '';
      return this.refused(e, reason);
    }
    return this.apply(text, reason);
  }

  /** Follow the file: fs.watch on its directory, since editors and `mv` replace the file rather than write it. */
  watch(): this {
    if (this.watcher) return this;
    const base = path.basename(this.file);
    // a symlink's target can change through other names (a Kubernetes config map swaps its ..data link)
    let linked = false;
    try {
      linked = fs.lstatSync(this.file).isSymbolicLink();
    } catch {
      // followed by name only
    }
    try {
      this.watcher = fs.watch(path.dirname(this.file), { persistent: false }, (_event, name) => {
        if (linked || name === null || String(name) === base) this.schedule();
      });
    } catch (e) {
      // out of inotify watches, say: the policy still works, only edits need reload()
      log.warn('access policy: cannot watch the file, changes will not be picked up by themselves', { file: this.file, error: (e as Error).message });
      return this;
    }
    this.watcher.on('error', (e) => log.error('access policy: watching the file stopped', { file: this.file, error: e.message }));
    return this;
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.changed();
    }, DEBOUNCE_MS);
    this.timer.unref();
  }

  /** After a burst of events: reload only if the text differs from what was last read. */
  private changed(): void {
    let text: string;
    try {
      text = readPolicyText(this.file);
    } catch (e) {
      // gone (removed, not yet replaced): say so once, keep the policy
      if (this.seen !== '') {
        this.seen = '';
        this.refused(e, 'file changed');
      }
      return;
    }
    if (hash(text) !== this.seen) this.apply(text, 'file changed');
  }

  private apply(text: string, reason: string): boolean {
    this.seen = hash(text);
    let next: Policy;
    try {
      next = parsePolicy(text, this.file);
    } catch (e) {
      return this.refused(e, reason);
    }
    this.policy = next;
    log.info('access policy reloaded', {
      file: this.file, reason, admins: next.admins.size, users: next.users.size, teams: next.teams.size, revoked: next.revoked.size,
    });
    this.emit('change', next);
    return true;
  }

  private refused(e: unknown, reason: string): false {
    if (!(e instanceof PolicyError)) throw e;
    log.error(`access policy not reloaded, keeping the last good one: ${e.message}`, { reason });
    return false;
  }
}
