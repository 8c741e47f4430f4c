// Long answers (an event stream, followed logs, stats, a hijacked socket)
// register here how to end them cleanly: a chunked answer with its last
// chunk, a hijacked socket with a FIN. A graceful shutdown (./server.ts)
// ends them this way at once instead of cutting them.
const closers = new WeakMap<object, () => void>();

/** How to end this answer (a ServerResponse) or hijacked socket cleanly. */
export function onEndStream(stream: object, end: () => void): void { closers.set(stream, end); }

/** End it cleanly if it registered how; false if it did not. */
export function endStream(stream: object): boolean {
  const end = closers.get(stream);
  if (!end) return false;
  closers.delete(stream);
  try { end(); } catch { /* already gone */ }
  return true;
}
