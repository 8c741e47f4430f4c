import { readFile } from 'node:fs/promises';
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import type { Discovery } from './discovery.js';
import { parseEntries } from './discovery.js';

/**
 * `file:///path`: one `host:port` (or range) per line. Re-read on change
 * (fs.watch) and every heartbeat, since editors often replace the file.
 */
export class FileDiscovery implements Discovery {
  readonly scheme = 'file';
  constructor(readonly path: string, private readonly heartbeatMs: number) {
    if (!path) throw new Error('file discovery: no path given');
  }

  async read(): Promise<string[]> {
    const text = await readFile(this.path, 'utf8');
    return parseEntries(text.split('\n'));
  }

  watch(onEntries: (addrs: string[]) => void, onError: (err: Error) => void): () => void {
    let last = '';
    let lastErr = '';
    let stopped = false;
    const poll = async (): Promise<void> => {
      if (stopped) return;
      try {
        const addrs = await this.read();
        const key = addrs.join(',');
        lastErr = '';
        if (key !== last) { last = key; onEntries(addrs); }
      } catch (err) {
        const msg = (err as Error).message;
        if (msg !== lastErr) { lastErr = msg; onError(err as Error); }
      }
    };
    void poll();
    const timer = setInterval(poll, this.heartbeatMs);
    timer.unref();
    let watcher: FSWatcher | undefined;
    try {
      watcher = fsWatch(this.path, () => void poll());
      watcher.on('error', () => undefined);
    } catch { /* the heartbeat poll still picks changes up */ }
    return () => { stopped = true; clearInterval(timer); watcher?.close(); };
  }
}
