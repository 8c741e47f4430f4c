// Docker API versions ("1.41") compared numerically, not as strings. Read
// digit by digit: this runs on every request (the client's /vX.Y against the
// cluster's range), so it builds no arrays or strings.

/** The number in s[start, end): 0 if empty, NaN if not all digits (as Number() reads them). */
function part(s: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return n;
}

/** <0, 0 or >0 as `a` is older than, the same as or newer than `b`; a missing minor counts as 0. */
export function compareApiVersions(a: string, b: string): number {
  const ad = a.indexOf('.');
  const bd = b.indexOf('.');
  const a1 = part(a, 0, ad < 0 ? a.length : ad);
  const b1 = part(b, 0, bd < 0 ? b.length : bd);
  if (a1 !== b1) return a1 - b1;
  const a2 = ad < 0 ? 0 : part(a, ad + 1, nextDot(a, ad + 1));
  const b2 = bd < 0 ? 0 : part(b, bd + 1, nextDot(b, bd + 1));
  return (a2 || 0) - (b2 || 0);
}

function nextDot(s: string, from: number): number {
  const i = s.indexOf('.', from);
  return i < 0 ? s.length : i;
}
