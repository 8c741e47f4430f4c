// Checks on what goes into a certificate or a path, done before anything is
// generated so a typo fails fast and names the culprit.
import { isIPv4, isIPv6 } from 'node:net';
import { CertError } from './errors.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** A NAME becomes a directory under the CA's: one safe path segment only. */
export function checkName(name: string): string {
  if (!NAME.test(name) || name.length > 64) {
    throw new CertError(`bad name "${name}": use letters, digits, '_', '.' and '-' (at most 64, starting with a letter or digit)`);
  }
  return name;
}

/** The usual typos in a user name, each with its own message. */
const USER_FAULTS: [RegExp, string][] = [
  [/^$/, 'it is empty'],
  // eslint-disable-next-line no-control-regex
  [/[\u0000-\u001f\u007f-\u009f]/, 'it contains a control character'],
  [/\s/, 'it contains whitespace'],
  [/[/\\]/, "it contains '/' or '\\'"],
];

/**
 * A bundle's user: the certificate's CN, which access control matches, and
 * the name of the bundle's directory and zip, so past the usual typos it
 * must be a NAME too.
 */
export function checkUser(user: string): string {
  const fault = USER_FAULTS.find(([re]) => re.test(user))?.[1]
    ?? (NAME.test(user) && user.length <= 64 ? undefined : "use letters, digits, '_', '.' and '-' (at most 64, starting with a letter or digit)");
  // JSON quoting shows a control character instead of printing it
  if (fault) throw new CertError(`bad user name ${JSON.stringify(user)}: ${fault}; it becomes the certificate's CN and the bundle's directory and zip name`);
  return user;
}

/**
 * An IP SAN as its 4 or 16 network-order bytes (a forge byte string).
 * forge's own parser accepts garbage ("1.2.3") and misreads "::ffff:1.2.3.4",
 * so parse here; brackets are tolerated ("[::1]" as in a URL), zones are not.
 */
export function ipBytes(ip: string): string {
  const bare = /^\[.*\]$/.test(ip) ? ip.slice(1, -1) : ip;
  if (isIPv4(bare)) return String.fromCharCode(...bare.split('.').map(Number));
  if (!isIPv6(bare) || bare.includes('%')) throw new CertError(`bad IP address "${ip}": want IPv4 (10.0.0.1) or IPv6 (::1)`);
  let s = bare;
  const tail: number[] = [];
  // an embedded IPv4 (::ffff:10.0.0.1) fills the last two groups
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    tail.push(...v4[1].split('.').map(Number));
    s = s.slice(0, v4.index + 1) + '0:0';
  }
  const [head, rest] = s.split('::');
  const groups = (part: string | undefined): string[] => (part ? part.split(':') : []);
  const h = groups(head);
  const r = groups(rest);
  const all = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  const bytes = all.flatMap((g) => { const n = parseInt(g, 16); return [n >> 8, n & 0xff]; });
  if (tail.length) bytes.splice(12, 4, ...tail);
  return String.fromCharCode(...bytes);
}

/** A DNS SAN: ASCII labels (IA5String), an optional leading "*." wildcard. */
export function checkDnsName(name: string): string {
  const label = '[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
  const re = new RegExp(`^(\\*\\.)?${label}(\\.${label})*\\.?$`);
  if (!re.test(name) || name.length > 253) throw new CertError(`bad DNS name "${name}": want a host name such as node-1 or node-1.example.com`);
  return name;
}
