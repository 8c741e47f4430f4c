// Docker's status texts, recomputed at request time so `docker ps` never shows
// a duration frozen at the moment the manager last read the container.

/** Go's units.HumanDuration, as dockerd uses it in container status texts. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/**
 * How long humanDuration(ms + x) stays the text humanDuration(ms) gives:
 * exactly, so a kept `ps` body re-renders a status text only when it really
 * changes. Under a minute the text changes every second, under an hour every
 * minute; above, the hour count rounds at the half hour and days, weeks and
 * months change only where it crosses their size (or the next band starts),
 * years on whole hours. "Up 3 weeks" holds for days, not for half an hour.
 * Never 0.
 */
export function statusStableFor(ms: number): number {
  const mod = (a: number, b: number): number => ((a % b) + b) % b;
  if (ms < 1000) return 1000 - ms;
  if (ms < 60_000) return 1000 - mod(ms, 1000);
  if (ms < 3_600_000) return 60_000 - mod(ms, 60_000);
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  // The first rounded hour count at which the text differs; reached at (count - 0.5) hours.
  let next: number;
  if (hours < 48) next = hours + 1;
  else if (hours < 24 * 7 * 2) next = (Math.floor(hours / 24) + 1) * 24;
  else if (hours < 24 * 30 * 2) next = Math.min((Math.floor(hours / 168) + 1) * 168, 24 * 30 * 2);
  else if (hours < 24 * 365 * 2) next = Math.min((Math.floor(hours / 720) + 1) * 720, 24 * 365 * 2);
  else return (Math.floor(ms / 3_600_000 / 24 / 365) + 1) * 8760 * 3_600_000 - ms; // years count whole hours, not rounded ones
  return (next - 0.5) * 3_600_000 - ms;
}

export interface StatusTimes { startedAt: number; finishedAt: number }

/**
 * dockerd's State.String() for a list item: `state` and the engine's own
 * status text (for the exit code and health) plus start/finish times in ms.
 * Falls back to the engine's text when a time is unknown.
 */
export function containerStatus(state: string, engineStatus: string, t: StatusTimes, now: number): string {
  switch (state) {
    case 'running': {
      if (!t.startedAt) return engineStatus;
      const health = HEALTH_RE.exec(engineStatus)?.[0] ?? '';
      return `Up ${humanDuration(now - t.startedAt)}${health}`;
    }
    case 'paused':
      return t.startedAt ? `Up ${humanDuration(now - t.startedAt)} (Paused)` : engineStatus;
    case 'restarting': {
      const code = RESTARTING_RE.exec(engineStatus)?.[1];
      return t.finishedAt && code !== undefined ? `Restarting (${code}) ${humanDuration(now - t.finishedAt)} ago` : engineStatus;
    }
    case 'exited': {
      const code = EXITED_RE.exec(engineStatus)?.[1];
      return t.finishedAt && code !== undefined ? `Exited (${code}) ${humanDuration(now - t.finishedAt)} ago` : engineStatus;
    }
    default:
      return engineStatus; // created, dead, removing: no duration in them
  }
}

const EXITED_RE = /^Exited \((-?\d+)\)/;
const RESTARTING_RE = /^Restarting \((-?\d+)\)/;
const HEALTH_RE = / \((healthy|unhealthy|health: starting)\)$/;

/** The exit code in an engine's status text ("Exited (1) 2 minutes ago"), if any. */
export function exitCodeOf(status: string | undefined): number | undefined {
  const m = EXITED_RE.exec(status ?? '');
  return m ? parseInt(m[1], 10) : undefined;
}

/** `ps --filter health=` values from a status text: starting, healthy, unhealthy or none. */
export function healthOf(status: string | undefined): string {
  const m = HEALTH_RE.exec(status ?? '');
  if (!m) return 'none';
  return m[1] === 'health: starting' ? 'starting' : m[1];
}

/** Go's zero time ("0001-01-01T00:00:00Z") and unparsable values become 0. */
export function parseDockerTime(v: unknown): number {
  if (typeof v !== 'string') return 0;
  const t = Date.parse(v);
  return Number.isFinite(t) && t > 0 ? t : 0;
}
