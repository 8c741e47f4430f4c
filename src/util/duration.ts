// Go-style durations ("30s", "1m30s", "500ms", "1h") as classic Swarm's flags take them.
const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parse a Go duration into milliseconds. Throws on anything else. */
export function parseDuration(s: string): number {
  const str = String(s).trim();
  if (str === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(str)) !== null) {
    if (m.index !== consumed) break;
    total += parseFloat(m[1]) * UNITS[m[2]];
    consumed = m.index + m[0].length;
  }
  if (consumed === 0 || consumed !== str.length) throw new Error(`invalid duration "${s}"`);
  return total;
}
