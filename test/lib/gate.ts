// A proxy in front of an engine (real or simulated) that a test controls:
// it holds back matching requests until released, answers some itself,
// and goes down (connections refused, open ones cut) and comes back on
// the same port. Unit tests put it between the manager and a simulator.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Gate {
  /** "127.0.0.1:PORT": what the manager is given as the engine's address. */
  readonly addr: string;
  /** From now on, requests that match wait until release(). */
  hold(match: (req: http.IncomingMessage) => boolean): void;
  /** Let every held request through and stop holding. */
  release(): void;
  /** Requests waiting now. */
  held(): number;
  /** Every request it was sent, "METHOD /path?query", in the order they came. */
  requests(): readonly string[];
  /** While set, a request it answers (returns true) goes no further. */
  answer: ((req: http.IncomingMessage, res: http.ServerResponse) => boolean) | null;
  down(): void;
  up(): Promise<void>;
  close(): void;
}

export async function startGate(target: string): Promise<Gate> {
  const [host, port] = target.split(':');
  let match: ((req: http.IncomingMessage) => boolean) | null = null;
  let waiting: Array<() => void> = [];
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const pass = (): void => {
      const up = http.request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        res.flushHeaders();
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      res.on('close', () => up.destroy());
      req.pipe(up);
    };
    if (gate.answer?.(req, res)) return;
    if (match?.(req)) waiting.push(pass); else pass();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const gatePort = (server.address() as AddressInfo).port;
  const gate: Gate = {
    addr: `127.0.0.1:${gatePort}`,
    hold: (m) => { match = m; },
    release: () => { const w = waiting; waiting = []; match = null; for (const go of w) go(); },
    held: () => waiting.length,
    requests: () => seen,
    answer: null,
    down: () => { server.close(); server.closeAllConnections(); },
    up: () => new Promise<void>((r) => server.listen(gatePort, '127.0.0.1', () => r())),
    close: () => { server.close(); server.closeAllConnections(); },
  };
  return gate;
}
