// undici's Pool and Client from their own modules. Its index also loads
// fetch, WebSocket, EventSource, mocks and caches (~90 modules, ~5 MB of
// RSS and 4 MB of heap the manager never uses: docs/performance.md). The
// index's one other job is done here too: the request API (request,
// stream, pipeline, upgrade, connect) put on every dispatcher. If a later
// undici moves these files, the index is the fallback.
/* eslint-disable @typescript-eslint/no-require-imports */
import type * as Undici from 'undici';

function loadDeep(): Pick<typeof Undici, 'Pool' | 'Client'> {
  try {
    const Dispatcher = require('undici/lib/dispatcher/dispatcher.js');
    const api = require('undici/lib/api/index.js');
    for (const [k, fn] of Object.entries(api)) Dispatcher.prototype[k] ??= fn;
    return { Pool: require('undici/lib/dispatcher/pool.js'), Client: require('undici/lib/dispatcher/client.js') };
  } catch {
    return require('undici') as typeof Undici;
  }
}

const deep = loadDeep();
export const Pool = deep.Pool;
export type Pool = Undici.Pool;
export const Client = deep.Client;
export type Client = Undici.Client;
