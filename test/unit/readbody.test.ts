import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { readBody } from '../../src/api/proxy.js';

/** A server whose handler reads the body with `limit` and reports what readBody gave. */
async function withServer(limit: number | undefined, run: (port: number, outcome: Promise<Buffer | Error>) => Promise<void>): Promise<void> {
  let report!: (x: Buffer | Error) => void;
  const outcome = new Promise<Buffer | Error>((r) => { report = r; });
  const server = http.createServer((req, res) => {
    readBody(req, limit).then((b) => { report(b); res.end('ok'); }, (err: Error) => report(err));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await run((server.address() as AddressInfo).port, outcome);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

describe('readBody', () => {
  it('gives the whole body, sent in several pieces', async () => {
    await withServer(undefined, async (port, outcome) => {
      const s = net.connect(port, '127.0.0.1');
      s.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc');
      await new Promise((r) => setTimeout(r, 30));
      s.end('def');
      assert.equal(String(await outcome), 'abcdef');
      s.destroy();
    });
  });

  it('gives an empty buffer for no body', async () => {
    await withServer(undefined, async (port, outcome) => {
      await fetch(`http://127.0.0.1:${port}/x`);
      assert.deepEqual(await outcome, Buffer.alloc(0));
    });
  });

  it('refuses a body past the limit with 413', async () => {
    await withServer(4, async (port, outcome) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789');
      const err = await outcome as Error & { statusCode?: number };
      assert.ok(err instanceof Error);
      assert.equal(err.statusCode, 413);
      s.destroy();
    });
  });

  it('rejects, never hangs, when the client goes away mid-body', async () => {
    await withServer(undefined, async (port, outcome) => {
      const s = net.connect(port, '127.0.0.1');
      s.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc');
      await new Promise((r) => setTimeout(r, 30));
      s.destroy();
      assert.ok(await outcome instanceof Error);
    });
  });
});
