// Docker's event times: nanoseconds since the epoch, as bigint, and the
// "seconds.nanoseconds" form the API takes in `since` and `until`.

export interface Timed { timeNano?: number; time?: number }

/** An event's time in nanoseconds (timeNano, else time in seconds). */
export function eventNano(ev: Timed): bigint {
  if (ev.timeNano !== undefined) return BigInt(ev.timeNano);
  return BigInt(ev.time ?? 0) * 1_000_000_000n;
}

/** 1700000000.000000001 */
export function formatNano(n: bigint): string {
  return `${n / 1_000_000_000n}.${(n % 1_000_000_000n).toString().padStart(9, '0')}`;
}
