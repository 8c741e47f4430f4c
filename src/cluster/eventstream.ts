// Follows one engine's /events. Opened before the first load (a change
// between the two is then in the list or in the stream), resumed with
// `since` after a loss so nothing is missed, with back-off while the engine
// is away.
import type { Client } from 'undici';
import { ProbeInconclusive, type EngineTransport } from './transport.js';
import { eventNano, formatNano } from '../util/time.js';
import { log } from '../log.js';
import { PROBE_TIMEOUT_MS } from './liveness.js';
import { engineStats } from './stats.js';

export interface EngineEvent {
  Type?: string; Action?: string; status?: string; id?: string; from?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  scope?: string; time?: number; timeNano?: number;
  [k: string]: unknown;
}

export interface EventStreamHooks {
  /** Each new event, in order, replays after a resume skipped. */
  onEvent(ev: EngineEvent): void;
  /** The stream came back after a loss: events may have been missed. */
  onResumed(): void;
  /** The engine answered a ping again after the stream was lost; resolve false to stop retrying here. */
  onReachable(): boolean;
  onUnreachable(err: Error): void;
  /** Longest wait between retries. */
  maxDelayMs(): number;
  name(): string;
}

export class EventStream {
  private client: Client | null = null;
  private abort: AbortController | null = null;
  private lastNano = 0n;
  /**
   * The newest event seen before this stream was resumed: what `since`
   * replays up to it was seen already. Live events are never compared with
   * each other: dockerd stamps an event before it takes its publish lock, so
   * two may come out of time order, and a timeNano parsed as a double keeps
   * only ~256 ns, so two close ones may read the same.
   */
  private replayedUpTo = 0n;
  private stopped = false;
  /** Failed opens in a row: the retry back-off grows with them. */
  private failures = 0;
  /** Successful opens so far: unchanged while the stream stays open, so no event was missed meanwhile. */
  opens = 0;

  constructor(private readonly transport: EngineTransport, private readonly hooks: EventStreamHooks) {}

  get open(): boolean { return this.client !== null; }

  /**
   * Open the stream. Resolves once the engine has answered it (from then on
   * no change is missed), rejects if it could not be opened; a stream lost
   * later is retried here.
   */
  start(): Promise<void> {
    if (this.stopped || this.client) return Promise.resolve();
    const client = this.transport.streamClient();
    const abort = new AbortController();
    this.client = client;
    this.abort = abort;
    const resumed = this.lastNano > 0n;
    this.replayedUpTo = this.lastNano;
    const since = resumed ? `?since=${formatNano(this.lastNano)}` : '';
    let buf = '';
    let opened!: () => void;
    let failed!: (err: Error) => void;
    const live = new Promise<void>((resolve, reject) => { opened = resolve; failed = reject; });
    client.request({ method: 'GET', path: `/events${since}`, signal: abort.signal })
      .then(async (res) => {
        if (res.statusCode !== 200) throw new Error(`events: HTTP ${res.statusCode}`);
        this.opens++;
        opened();
        this.failures = 0;
        engineStats.openStreams.add(client);
        if (resumed) { engineStats.streamsResumed++; this.hooks.onResumed(); }
        res.body.setEncoding('utf8');
        for await (const chunk of res.body) {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line) this.onLine(line);
          }
        }
        throw new Error('event stream ended');
      })
      .catch((err: Error) => {
        failed(err);
        engineStats.openStreams.delete(client);
        if (this.stopped) return;
        engineStats.streamsLost++;
        log.warn('engine event stream lost', { node: this.hooks.name(), addr: this.transport.addr, error: err.message });
        client.destroy().catch(() => undefined);
        if (this.client === client) { this.client = null; this.abort = null; }
        this.retry(this.failures++);
      });
    return live;
  }

  /**
   * Close the stream now (the engine is down): a half-open stream to a host
   * that vanished would otherwise keep it from being reopened. The retry
   * loop reopens it once the engine answers again.
   */
  drop(): void { this.abort?.abort(); }

  stop(): void {
    this.stopped = true;
    if (this.client) engineStats.openStreams.delete(this.client);
    engineStats.lastLag.delete(this.transport.addr);
    this.abort?.abort();
    this.client?.destroy().catch(() => undefined);
    this.client = null;
  }

  /** Retry with back-off (1s, 2s, 4s ... capped), once the engine answers a ping. */
  private retry(attempt: number): void {
    const delay = Math.min(1000 * 2 ** attempt, this.hooks.maxDelayMs());
    setTimeout(() => {
      if (this.stopped || this.client) return;
      this.transport.probe(PROBE_TIMEOUT_MS, true).then(
        () => { if (this.hooks.onReachable()) this.start().catch(() => undefined); },
        (e: Error) => {
          if (!(e instanceof ProbeInconclusive)) this.hooks.onUnreachable(e);
          this.retry(attempt + 1);
        },
      );
    }, delay).unref();
  }

  private onLine(line: string): void {
    let ev: EngineEvent;
    try { ev = JSON.parse(line); } catch { return; }
    const nano = eventNano(ev);
    // Replayed by `since` after a resume.
    if (nano <= this.replayedUpTo && ev.timeNano !== undefined) return;
    if (nano > this.lastNano) this.lastNano = nano;
    engineStats.event(this.transport.addr, nano);
    this.hooks.onEvent(ev);
  }
}
