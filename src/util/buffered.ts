// One HTTP exchange whose answer is read whole, on undici's dispatch API.
// `request()` wraps every answer in a Readable stream and its consumers;
// for the short buffered calls the manager makes on nearly every request
// (inspect, create, start, re-reads) that wrapping cost ~50 µs of CPU per
// call (docs/performance.md, "fifth pass"). Here the chunks are collected
// as they come, with the same options, errors and header object.
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

export interface BufferedAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface BufferedOptions {
  method: Dispatcher.HttpMethod;
  path: string;
  headers?: Record<string, string | string[] | undefined>;
  body?: string | Buffer;
  headersTimeout?: number;
  bodyTimeout?: number;
  /** Aborts the exchange (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** Thrown when the exchange failed after the status and headers came (`onHead` ran). */
export class BodyError extends Error {
  constructor(cause: unknown) {
    super((cause as Error)?.message ?? String(cause), { cause });
    this.name = 'BodyError';
  }
}

/**
 * The answer, read whole. `onHead` runs when the status and headers arrive,
 * before the body (a caller that relays the headers early); an error after
 * that rejects with a BodyError whose cause is the original error.
 */
export function requestBuffered(
  d: Pick<Dispatcher, 'dispatch'>, o: BufferedOptions, onHead?: (status: number, headers: IncomingHttpHeaders) => void,
): Promise<BufferedAnswer> {
  return new Promise<BufferedAnswer>((resolve, reject) => {
    const { signal, ...opts } = o;
    if (signal?.aborted) { reject(signal.reason); return; }
    const chunks: Buffer[] = [];
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    let head = false;
    let done = false;
    let abort: ((reason: unknown) => void) | undefined;
    const onAbort = (): void => abort?.(signal!.reason);
    const finish = (): void => { done = true; signal?.removeEventListener('abort', onAbort); };
    signal?.addEventListener('abort', onAbort, { once: true });
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller) {
        abort = (reason) => controller.abort(reason as Error);
        if (signal?.aborted) controller.abort(signal.reason as Error);
      },
      onResponseStart(_c, statusCode, h) {
        status = statusCode;
        headers = h as IncomingHttpHeaders;
        head = true;
        if (onHead) {
          try { onHead(status, headers); } catch (err) { abort?.(err); }
        }
      },
      onResponseData(_c, chunk) { chunks.push(chunk); },
      onResponseEnd() {
        if (done) return;
        finish();
        resolve({ status, headers, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) });
      },
      onResponseError(_c, err) {
        if (done) return;
        finish();
        reject(head ? new BodyError(err) : err);
      },
    };
    try {
      d.dispatch({ ...opts, headers: opts.headers as Record<string, string> | undefined }, handler);
    } catch (err) {
      finish();
      reject(err);
    }
  });
}
