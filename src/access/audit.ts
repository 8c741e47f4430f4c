// The audit log: one JSON line per access decision, to a file or stdout.
// Lines go through a write stream, so a request never waits for the disk; a
// failing or full disk costs lines (counted in `dropped`), never the manager.
// reopen() is for logrotate: after it renames the file, SIGHUP makes the
// manager write to a fresh one at the same path.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { log } from '../log.js';

export type Decision = 'allowed' | 'denied' | 'hidden' | 'refused';

export interface AuditEntry {
  /** ISO 8601. */
  time: string;
  /** The client certificate's CN. */
  user: string;
  /** The client's address. */
  remote: string;
  method: string;
  path: string;
  /** The route the request matched, e.g. "/containers/{id}/start". */
  route: string;
  /** The container, image, ... the request names. */
  object?: string;
  node?: string;
  decision: Decision;
  reason?: string;
  status?: number | string;
}

/** An audit log file is private: it names users and what they touched. */
const FILE_MODE = 0o600;

/**
 * Bytes held in memory while the file lags (a slow or hung disk); past that,
 * new lines are dropped rather than growing the manager without bound.
 */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

/** One line. Keys in a fixed order, so lines read and diff alike; JSON.stringify leaves undefined fields out. */
export function auditLine(e: AuditEntry): string {
  return JSON.stringify({
    time: e.time, user: e.user, remote: e.remote, method: e.method, path: e.path, route: e.route,
    object: e.object, node: e.node, decision: e.decision, reason: e.reason, status: e.status,
  }) + '\n';
}

/** Open `file` for append now, so a bad path fails at start-up (or at reopen), not at the first line. */
function openFile(file: string): fs.WriteStream {
  let fd: number;
  try {
    fd = fs.openSync(file, 'a', FILE_MODE);
  } catch (e) {
    throw new Error(`cannot open audit log ${file}: ${(e as Error).message} (want a file path, or - for stdout)`, { cause: e });
  }
  return fs.createWriteStream(file, { fd });
}

/**
 * One stream and what went wrong with it (each problem is logged once per
 * stream). `ready`: its predecessor has flushed and closed; until then the
 * stream is corked, so a reopen of the same path (no rename before the
 * SIGHUP) cannot put new lines before old ones still buffered.
 */
interface Sink { stream: Writable; ready: Promise<void>; failed: boolean; lagging: boolean }

export class AuditLog {
  private sink: Sink;
  /** Streams replaced by reopen() still flushing their last lines. */
  private readonly retiring = new Set<Promise<void>>();
  private closed = false;
  private lost = 0;

  /** `file` undefined: stdout, which is never reopened or closed. */
  private constructor(private readonly file: string | undefined, stream: Writable) {
    this.sink = this.attach(stream);
  }

  /** '-' is stdout; anything else a file path, opened for append (created 0600). Throws on a path it cannot open. */
  static open(target: string): AuditLog {
    if (target === '-') return new AuditLog(undefined, process.stdout);
    const file = path.resolve(target);
    return new AuditLog(file, openFile(file));
  }

  /** Lines lost: written after a stream failed, pending when it failed, over the memory bound, or after close(). */
  get dropped(): number {
    return this.lost;
  }

  write(e: AuditEntry): void {
    const s = this.sink;
    if (this.closed || s.failed) {
      this.lost++;
      return;
    }
    if (s.stream.writableLength > MAX_PENDING_BYTES) {
      this.lost++;
      if (!s.lagging) log.error('audit log: writes are not keeping up; dropping lines', { file: this.where() });
      s.lagging = true;
      return;
    }
    s.lagging = false;
    // the callback sees the error of every line the stream could not write, buffered ones included
    s.stream.write(auditLine(e), (err) => { if (err) this.lost++; });
  }

  /**
   * Open the path again (after logrotate renamed the file: a new inode).
   * Lines written before go to the old file, which is flushed and closed
   * behind; lines after, to the new one. If the path cannot be opened, the
   * old file stays in use: lines land in the rotated file, not nowhere.
   */
  reopen(): void {
    if (this.file === undefined || this.closed) return;
    let stream: fs.WriteStream;
    try {
      stream = openFile(this.file);
    } catch (e) {
      log.error('audit log: cannot reopen; still writing to the file open before', { error: (e as Error).message });
      return;
    }
    this.sink = this.attach(stream, this.retire(this.sink));
  }

  /** Flush and close (stdout is only flushed). Later writes are dropped. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      if (this.file === undefined) await flushed(this.sink.stream);
      else this.retire(this.sink);
    }
    await Promise.all(this.retiring);
  }

  private where(): string {
    return this.file ?? 'stdout';
  }

  /** A sink for `stream`, corked until `after` (the stream it replaces) is done. */
  private attach(stream: Writable, after?: Promise<void>): Sink {
    const s: Sink = { stream, ready: after ?? Promise.resolve(), failed: false, lagging: false };
    if (after) {
      stream.cork();
      void after.then(() => stream.uncork());
    }
    // a listener also keeps a stream error (ENOSPC, EPIPE on stdout) from being thrown
    stream.on('error', (err) => {
      const until = this.file === undefined ? '' : ' until it is reopened';
      if (!s.failed) log.error(`audit log: cannot write; dropping lines${until}`, { file: this.where(), error: err.message });
      s.failed = true;
    });
    return s;
  }

  /** End a sink once its predecessor is done (end() would uncork it early); resolves when it is closed. */
  private retire(s: Sink): Promise<void> {
    const done = s.ready.then(() => ended(s.stream));
    this.retiring.add(done);
    void done.then(() => this.retiring.delete(done));
    return done;
  }
}

/** Ended and closed, or failed: either way nothing more will reach the file. */
function ended(stream: Writable): Promise<void> {
  if (stream.closed || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('close', () => resolve());
    stream.end();
  });
}

/** Everything written so far handed to the OS (or failed): an empty write's callback runs after the lines before it. */
function flushed(stream: Writable): Promise<void> {
  if (stream.destroyed || stream.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => { stream.write('', () => resolve()); });
}
