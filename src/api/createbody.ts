// A `POST /containers/create` request checked as dockerd 20.10 checks it,
// before the manager reads the body (schedules, reserves CPUs and memory,
// rewrites CpuShares). What dockerd refuses at this stage is refused here with
// its status and text and never forwarded; what it accepts passes. Texts were
// recorded from Debian's docker.io 20.10.24 (Go 1.19 encoding/json, net/http,
// mime); test/integration/create-validation.test.ts compares them live.
// Past 400 lines: Go's scanner, the type walk and strconv's quoting must match
// dockerd byte for byte together; apart, each would export the others' internals.
//
// Only the JSON types of the fields the manager reads are checked (scheduler/
// build.ts, resources.ts, rules.ts, cluster.ts). A wrong type elsewhere (say
// "Tty":"x") is still refused by the engine after placement, and if it comes
// before a checked field in the body dockerd names it instead of ours.
import type { IncomingHttpHeaders } from 'node:http';
import { BadRequestError, DockerError } from '../errors.js';

// ---- the request: URL query, form body, Content-Type (all 400) ---------------

/**
 * dockerd's httputils.ParseForm, then CheckForJSON. `url` is the request
 * target (only its query is read), `body` the raw body. Throws BadRequestError
 * with `invalid semicolon separator in query`, `invalid URL escape "%zz"`, or
 * `Content-Type specified (<type>) must be 'application/json'`.
 */
export function checkCreateRequest(url: string, headers: IncomingHttpHeaders, body: Buffer): void {
  const ct = headers['content-type'] ?? '';
  // Go reads a form body (x-www-form-urlencoded) before the query. A type
  // Go's mime package can't parse is an error ParseForm's caller ignores,
  // and it hides the query's error; a missing type counts as octet-stream.
  const media = mediaType(ct || 'application/octet-stream');
  if (media !== undefined) {
    const q = url.indexOf('?');
    const err = (media === 'application/x-www-form-urlencoded' ? queryError(body.toString('latin1')) : undefined)
      ?? queryError(q < 0 ? '' : url.slice(q + 1));
    if (err) throw new BadRequestError(err);
  }
  // No Content-Type is fine only without a body (a chunked body counts, even empty).
  const hasBody = headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
  if (ct === '' && !hasBody) return;
  if (mediaType(ct) !== 'application/json') throw new BadRequestError(`Content-Type specified (${ct}) must be 'application/json'`);
}

const TSPECIALS = '()<>@,;:\\"/[]?=';
const SPACE = /^[\t\n\v\f\r \u0085\u00a0]+/; // Go's unicode.IsSpace, Latin-1 part (header values)
const trimLeft = (s: string) => s.replace(SPACE, '');
const trim = (s: string) => trimLeft(s).replace(/[\t\n\v\f\r \u0085\u00a0]+$/, '');
/** End of the RFC 2045 token starting at i (i itself when none). */
function tokenEnd(s: string, i: number): number {
  while (i < s.length && s[i] > ' ' && s[i] < '\x7f' && !TSPECIALS.includes(s[i])) i++;
  return i;
}

/** Go's mime.ParseMediaType: the lower-cased type, or undefined where Go returns an error. */
function mediaType(v: string): string | undefined {
  const semi = v.indexOf(';');
  const base = semi < 0 ? v : v.slice(0, semi);
  const type = trim(base.toLowerCase());
  const t = tokenEnd(type, 0);
  if (t === 0) return undefined;
  if (t < type.length && (type[t] !== '/' || tokenEnd(type, t + 1) === t + 1 || tokenEnd(type, t + 1) !== type.length)) return undefined;
  const seen = new Set<string>();
  for (let rest = v.slice(base.length); (rest = trimLeft(rest)); ) {
    const p = mediaParam(rest);
    if (!p) return trim(rest) === ';' ? type : undefined; // one trailing ';' is allowed
    if (seen.has(p.key)) return undefined; // Go 1.19 refuses any repeated name
    seen.add(p.key);
    rest = p.rest;
  }
  return type;
}

/** Go's consumeMediaParam: `; key=value` (value a token or a quoted string). */
function mediaParam(v: string): { key: string; rest: string } | undefined {
  let r = trimLeft(v);
  if (r[0] !== ';') return undefined;
  r = trimLeft(r.slice(1));
  const k = tokenEnd(r, 0);
  if (k === 0) return undefined;
  const key = r.slice(0, k).toLowerCase();
  r = trimLeft(r.slice(k));
  if (r[0] !== '=') return undefined;
  r = trimLeft(r.slice(1));
  if (r[0] !== '"') {
    const e = tokenEnd(r, 0);
    return e > 0 ? { key, rest: r.slice(e) } : undefined;
  }
  for (let i = 1; i < r.length; i++) {
    if (r[i] === '"') return { key, rest: r.slice(i + 1) };
    if (r[i] === '\\' && i + 1 < r.length && TSPECIALS.includes(r[i + 1])) i++;
    else if (r[i] === '\r' || r[i] === '\n') return undefined;
  }
  return undefined; // no closing quote
}

/** Go's url.ParseQuery error for a query or form body (one char per byte), or undefined. */
function queryError(q: string): string | undefined {
  let err: string | undefined;
  for (const part of q.split('&')) {
    // Go 1.17+: a ';' error replaces any earlier error; an escape error keeps the first.
    if (part.includes(';')) { err = 'invalid semicolon separator in query'; continue; }
    const eq = part.indexOf('=');
    for (const s of eq < 0 ? [part] : [part.slice(0, eq), part.slice(eq + 1)]) {
      const bad = /%(?![0-9a-fA-F]{2})/.exec(s);
      if (bad) { err ??= `invalid URL escape ${goQuote(s.slice(bad.index, bad.index + 3))}`; break; }
    }
  }
  return err;
}

// ---- the body: Go's decoder on the fields the manager reads (500) -------------

type GoType =
  | { kind: 'int' | 'string'; name: string }
  | { kind: 'slice'; name: string; elem: GoType }
  | { kind: 'map'; name: string; elem: GoType }
  | { kind: 'struct'; name: string; struct: string; fields: Record<string, GoType> };

const int = (name = 'int64'): GoType => ({ kind: 'int', name });
const str = (name = 'string'): GoType => ({ kind: 'string', name });
const slice = (name: string, elem: GoType): GoType => ({ kind: 'slice', name, elem });
const map = (name: string, elem: GoType): GoType => ({ kind: 'map', name, elem });
const struct = (name: string, fields: Record<string, GoType>): GoType => ({ kind: 'struct', name, struct: name.replace(/^.*\./, ''), fields });
const STRINGS = slice('[]string', str());
const STRING_MAP = map('map[string]string', str());

// container.HostConfig fields the manager reads. Go also decodes them at the
// top level (the deprecated embedded HostConfig of ContainerConfigWrapper).
const HOST_CONFIG: Record<string, GoType> = {
  CpuShares: int(), Memory: int(), NanoCpus: int(),
  PortBindings: map('nat.PortMap', slice('[]nat.PortBinding', struct('nat.PortBinding', { HostIp: str(), HostPort: str() }))),
  NetworkMode: str('container.NetworkMode'), IpcMode: str('container.IpcMode'), PidMode: str('container.PidMode'),
  Links: STRINGS, VolumesFrom: STRINGS,
};
const ENDPOINT = struct('network.EndpointSettings', {
  IPAMConfig: struct('network.EndpointIPAMConfig', { IPv4Address: str(), IPv6Address: str(), LinkLocalIPs: STRINGS }),
  Links: STRINGS, Aliases: STRINGS, NetworkID: str(), EndpointID: str(), Gateway: str(), IPAddress: str(), IPPrefixLen: int('int'),
  IPv6Gateway: str(), GlobalIPv6Address: str(), GlobalIPv6PrefixLen: int('int'), MacAddress: str(), DriverOpts: STRING_MAP,
});
const BODY = struct('runconfig.ContainerConfigWrapper', {
  Image: str(), Env: STRINGS, Labels: STRING_MAP,
  ExposedPorts: map('nat.PortSet', struct('struct {}', {})), // any object (or null) per port
  ...HOST_CONFIG,
  HostConfig: struct('container.HostConfig', HOST_CONFIG),
  NetworkingConfig: struct('network.NetworkingConfig', { EndpointsConfig: map('map[string]*network.EndpointSettings', ENDPOINT) }),
});

/**
 * Decode a create body as dockerd 20.10 does (Go's json.Decoder): only the
 * first JSON value counts (trailing bytes are ignored, as dockerd does), and
 * its syntax is checked before any field type. Returns the parsed value;
 * throws DockerError 500 with Go's text: `EOF` (empty or blank body),
 * `unexpected EOF`, `invalid character 'x' ...`, or the first wrong type of a
 * field the manager reads, in body order, e.g. `json: cannot unmarshal string
 * into Go struct field HostConfig.HostConfig.CpuShares of type int64`.
 */
export function parseCreateBody(raw: Buffer): unknown {
  // Nearly every body is one valid JSON value and nothing more: JSON.parse says
  // so in native code, and Go's scanner would only find that value's end (its
  // texts are for broken syntax). Past FAST_MAX bytes a body may nest deeper
  // than Go's 10,000 levels, which JSON.parse accepts: the scanner decides.
  if (raw.length <= FAST_MAX) {
    const text = raw.toString('utf8');
    let value: unknown;
    try { value = JSON.parse(text); } catch { return parseCreateBodyAsGo(raw); }
    // The parsed value answers as the bytes do unless a key repeats or a
    // number is not plain digits; then the byte walk decides.
    if (!plainText(text, value) || !checkParsed(value, BODY, { path: [] })) checkTypes(raw, raw.length);
    return value;
  }
  return parseCreateBodyAsGo(raw);
}

/** Bodies at most this long cannot nest 10,000 levels deep (each level takes two bytes). */
const FAST_MAX = 20_000;

/** parseCreateBody without the JSON.parse shortcut: Go's scanner on every body (tests hold the two equal). */
export function parseCreateBodyAsGo(raw: Buffer): unknown {
  const end = firstValueEnd(raw);
  checkTypes(raw, end);
  return JSON.parse(raw.toString('utf8', 0, end));
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

/**
 * Go's json scanner, byte by byte (encoding/json/scanner.go; Decoder.readValue):
 * the end of the first value, or a 500 with Go's syntax error. Iterative, so
 * deep nesting needs no stack (Go stops at 10000 levels).
 */
function firstValueEnd(b: Buffer): number {
  const OBJ_KEY = 0, OBJ_VALUE = 1, ARR = 2;
  const CONT = 0, END_BEFORE = 1, END_AFTER = 2, ERROR = 3;
  const stack: number[] = [];
  let msg = '';
  type Step = (c: number) => number;
  const fail = (c: number, context: string) => { msg = `invalid character ${quoteChar(c)} ${context}`; return ERROR; };
  const push = (c: number, state: number) => { stack.push(state); return stack.length <= 10000 ? CONT : fail(c, 'exceeded max depth'); };
  const literal = (word: string, i: number): Step => (c) => {
    if (c !== word.charCodeAt(i)) return fail(c, `in literal ${word} (expecting '${word[i]}')`);
    step = i + 1 === word.length ? endValue : literal(word, i + 1);
    return CONT;
  };
  const beginValue: Step = (c) => {
    if (isSpace(c)) return CONT;
    switch (c) {
      case 0x7b: step = beginStringOrEmpty; return push(c, OBJ_KEY);
      case 0x5b: step = beginValueOrEmpty; return push(c, ARR);
      case 0x22: step = inString; return CONT;
      case 0x2d: step = neg; return CONT;
      case 0x30: step = zero; return CONT;
      case 0x74: step = literal('true', 1); return CONT;
      case 0x66: step = literal('false', 1); return CONT;
      case 0x6e: step = literal('null', 1); return CONT;
    }
    if (c >= 0x31 && c <= 0x39) { step = one; return CONT; }
    return fail(c, 'looking for beginning of value');
  };
  const beginValueOrEmpty: Step = (c) => (isSpace(c) ? CONT : c === 0x5d ? endValue(c) : beginValue(c));
  const beginStringOrEmpty: Step = (c) => {
    if (isSpace(c)) return CONT;
    if (c === 0x7d) { stack[stack.length - 1] = OBJ_VALUE; return endValue(c); }
    return beginString(c);
  };
  const beginString: Step = (c) => {
    if (isSpace(c)) return CONT;
    if (c === 0x22) { step = inString; return CONT; }
    return fail(c, 'looking for beginning of object key string');
  };
  const pop = () => { stack.pop(); step = endValue; return stack.length ? CONT : END_AFTER; };
  const endValue: Step = (c) => {
    const n = stack.length;
    if (n === 0) return END_BEFORE; // the top-level value ended before c
    if (isSpace(c)) { step = endValue; return CONT; }
    switch (stack[n - 1]) {
      case OBJ_KEY:
        if (c === 0x3a) { stack[n - 1] = OBJ_VALUE; step = beginValue; return CONT; }
        return fail(c, 'after object key');
      case OBJ_VALUE:
        if (c === 0x2c) { stack[n - 1] = OBJ_KEY; step = beginString; return CONT; }
        if (c === 0x7d) return pop();
        return fail(c, 'after object key:value pair');
      default:
        if (c === 0x2c) { step = beginValue; return CONT; }
        if (c === 0x5d) return pop();
        return fail(c, 'after array element');
    }
  };
  const inString: Step = (c) => {
    if (c === 0x22) { step = endValue; return CONT; }
    if (c === 0x5c) { step = inStringEsc; return CONT; }
    return c < 0x20 ? fail(c, 'in string literal') : CONT;
  };
  const inStringEsc: Step = (c) => {
    if ('bfnrt\\/"'.includes(String.fromCharCode(c))) { step = inString; return CONT; }
    if (c === 0x75) { step = hex(4); return CONT; }
    return fail(c, 'in string escape code');
  };
  const hex = (left: number): Step => (c) => {
    if (!isHex(c)) return fail(c, 'in \\u hexadecimal character escape');
    step = left === 1 ? inString : hex(left - 1);
    return CONT;
  };
  const neg: Step = (c) => {
    if (c === 0x30) { step = zero; return CONT; }
    if (c >= 0x31 && c <= 0x39) { step = one; return CONT; }
    return fail(c, 'in numeric literal');
  };
  const one: Step = (c) => (isDigit(c) ? CONT : zero(c));
  const zero: Step = (c) => {
    if (c === 0x2e) { step = dot; return CONT; }
    if (c === 0x65 || c === 0x45) { step = exp; return CONT; }
    return endValue(c);
  };
  const dot: Step = (c) => {
    if (isDigit(c)) { step = dot0; return CONT; }
    return fail(c, 'after decimal point in numeric literal');
  };
  const dot0: Step = (c) => {
    if (isDigit(c)) return CONT;
    if (c === 0x65 || c === 0x45) { step = exp; return CONT; }
    return endValue(c);
  };
  const exp: Step = (c) => {
    if (c === 0x2b || c === 0x2d) { step = expSign; return CONT; }
    return expSign(c);
  };
  const expSign: Step = (c) => {
    if (isDigit(c)) { step = exp0; return CONT; }
    return fail(c, 'in exponent of numeric literal');
  };
  const exp0: Step = (c) => (isDigit(c) ? CONT : endValue(c));

  let step: Step = beginValue;
  for (let i = 0; i < b.length; i++) {
    const r = step(b[i]);
    if (r === END_BEFORE) return i;
    if (r === END_AFTER) return i + 1;
    if (r === ERROR) throw new DockerError(msg, 500);
  }
  // At EOF Go feeds one space: a number or literal may end there.
  if (step(0x20) === END_BEFORE) return b.length;
  throw new DockerError(b.some((c) => !isSpace(c)) ? 'unexpected EOF' : 'EOF', 500);
}

interface Ctx { struct?: string; path: string[] }

/** Field lookup as Go does it: exact name, else ASCII case-insensitive with ſ≡s and K (Kelvin)≡k. */
const fold = (s: string) => s.replace(/\u017f/g, 's').replace(/\u212a/g, 'k').replace(/[A-Z]/g, (c) => c.toLowerCase());
const folded = new WeakMap<GoType, Map<string, string>>();
/** Keys looked up before, per struct (null: no field): a CLI sends the same ~80 each time, and folding them took a cold manager ~50 µs a create. */
const looked = new WeakMap<GoType, Map<string, string | null>>();
const LOOKED_MAX = 1024;
function fieldName(t: Extract<GoType, { kind: 'struct' }>, key: string): string | undefined {
  if (Object.hasOwn(t.fields, key)) return key;
  let seen = looked.get(t);
  if (!seen) looked.set(t, (seen = new Map()));
  const known = seen.get(key);
  if (known !== undefined) return known ?? undefined;
  let m = folded.get(t);
  if (!m) folded.set(t, (m = new Map(Object.keys(t.fields).map((k) => [fold(k), k]))));
  const f = m.get(fold(key));
  if (seen.size < LOOKED_MAX) seen.set(key, f ?? null);
  return f;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Walk the (syntactically valid) first value against BODY and throw Go's
 * first UnmarshalTypeError. Go keeps decoding after one and reports the
 * first, so body order decides; null leaves a field alone; unknown fields are
 * skipped; numbers are judged by their text (1.0, 1e3 and 2^63 are not int64).
 */
function checkTypes(b: Buffer, end: number): void {
  let i = 0;
  const ws = () => { while (i < end && isSpace(b[i])) i++; };
  const readString = () => { const s = i++; while (b[i] !== 0x22) i += b[i] === 0x5c ? 2 : 1; return b.toString('utf8', s, ++i); };
  const skip = () => { // any value, without recursion
    let depth = 0;
    do {
      ws();
      const c = b[i];
      if (c === 0x22) readString();
      else if (c === 0x7b || c === 0x5b) { depth++; i++; }
      else if (c === 0x7d || c === 0x5d) { depth--; i++; }
      else if (c === 0x2c || c === 0x3a) i++;
      else while (i < end && !isSpace(b[i]) && !',:]}'.includes(String.fromCharCode(b[i]))) i++;
    } while (depth > 0);
  };
  const value = (t: GoType | undefined, ctx: Ctx): void => {
    ws();
    const c = b[i];
    if (!t || c === 0x6e) return skip(); // unknown field, or null
    const kind = c === 0x7b ? 'object' : c === 0x5b ? 'array' : c === 0x22 ? 'string' : c === 0x74 || c === 0x66 ? 'bool' : 'number';
    if (kind === 'object' && (t.kind === 'struct' || t.kind === 'map')) {
      i++;
      ws();
      if (b[i] === 0x7d) { i++; return; }
      for (;;) {
        ws();
        const key = JSON.parse(readString()) as string;
        ws();
        i++; // ':'
        if (t.kind === 'map') value(t.elem, ctx);
        else {
          const f = fieldName(t, key);
          value(f === undefined ? undefined : t.fields[f], f === undefined ? ctx : { struct: t.struct, path: [...ctx.path, f] });
        }
        ws();
        if (b[i++] === 0x7d) return;
      }
    }
    if (kind === 'array' && t.kind === 'slice') {
      i++;
      ws();
      if (b[i] === 0x5d) { i++; return; }
      for (;;) {
        value(t.elem, ctx);
        ws();
        if (b[i++] === 0x5d) return;
      }
    }
    const start = i;
    skip();
    if (kind === 'string' && t.kind === 'string') return;
    let what: string = kind;
    if (kind === 'number' && t.kind === 'int') {
      const text = b.toString('latin1', start, i);
      if (/^-?\d+$/.test(text) && BigInt(text) >= INT64_MIN && BigInt(text) <= INT64_MAX) return;
      what = `number ${text}`;
    }
    const into = ctx.struct === undefined ? 'Go value' : `Go struct field ${ctx.struct}.${ctx.path.join('.')}`;
    throw new DockerError(`json: cannot unmarshal ${what} into ${into} of type ${t.name}`, 500);
  };
  value(BODY, { path: [] });
}

/**
 * Whether `text`, once parsed to `value`, lost nothing the type walk reads:
 * every key still there (none repeated in its object: as many keys as colons
 * outside strings) and no number with a fraction or exponent (Go refuses 1.0
 * and 1e3 for int64, which parse to 1 and 1000). Native string passes and a
 * walk over the value's nodes: a cold manager runs this far faster than the
 * byte walk.
 */
function plainText(text: string, value: unknown): boolean {
  const bare = text.replace(/"[^"\\]*(?:\\.[^"\\]*)*"/g, '""');
  if (/\d[.eE]/.test(bare)) return false;
  let keys = 0;
  const todo: unknown[] = [value];
  while (todo.length) {
    const v = todo.pop();
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) { for (const x of v) todo.push(x); continue; }
    for (const k in v) { keys++; todo.push((v as Record<string, unknown>)[k]); }
  }
  return bare.split(':').length - 1 === keys;
}

/** An array index as a key: JS lists those first, Go keeps body order. */
const INDEX_KEY = /^(?:0|[1-9]\d{0,9})$/;

/**
 * checkTypes over a value `plainText` vouched for: throws the same first
 * error, or returns false where only the bytes can tell (a map with an
 * index-like key, whose order JS changes; an int64 number past 2^53).
 */
function checkParsed(v: unknown, t: GoType | undefined, ctx: Ctx): boolean {
  if (!t || v === null) return true;
  const kind = Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'bool' : typeof v;
  if (kind === 'object' && (t.kind === 'struct' || t.kind === 'map')) {
    for (const k in v as object) {
      const x = (v as Record<string, unknown>)[k];
      if (t.kind === 'map') {
        if (INDEX_KEY.test(k) || !checkParsed(x, t.elem, ctx)) return false;
      } else {
        const f = fieldName(t, k);
        if (f !== undefined && !checkParsed(x, t.fields[f], { struct: t.struct, path: [...ctx.path, f] })) return false;
      }
    }
    return true;
  }
  if (kind === 'array' && t.kind === 'slice') {
    for (const x of v as unknown[]) if (!checkParsed(x, t.elem, ctx)) return false;
    return true;
  }
  if (kind === 'string' && t.kind === 'string') return true;
  if (kind === 'number' && t.kind === 'int') return Number.isSafeInteger(v);
  const into = ctx.struct === undefined ? 'Go value' : `Go struct field ${ctx.struct}.${ctx.path.join('.')}`;
  throw new DockerError(`json: cannot unmarshal ${kind} into ${into} of type ${t.name}`, 500);
}

// ---- Go's strconv.Quote, for the texts above -----------------------------------

const ESCAPES: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '\\': '\\\\', '"': '\\"' };
const hexN = (n: number, w: number) => n.toString(16).padStart(w, '0');
/** One rune as strconv.Quote writes it (IsPrint: letters, marks, numbers, punctuation, symbols, ' '). */
function quoteRune(ch: string): string {
  if (ESCAPES[ch]) return ESCAPES[ch];
  if (ch === ' ' || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch)) return ch;
  const n = ch.charCodeAt(0);
  return n < 0x80 ? `\\x${hexN(n, 2)}` : `\\u${hexN(n, 4)}`;
}

/** json's quoteChar: the offending byte read as a Latin-1 rune, in single quotes. */
function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  return `'${quoteRune(String.fromCharCode(c))}'`;
}

/** strconv.Quote of bytes (one char per byte, at most 3 here: "%" and two more). */
function goQuote(bytes: string): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes.charCodeAt(i);
    const next = bytes.charCodeAt(i + 1);
    if (c >= 0xc2 && c <= 0xdf && next >= 0x80 && next <= 0xbf) { // a two-byte UTF-8 rune
      out += quoteRune(String.fromCharCode(((c & 0x1f) << 6) | (next & 0x3f)));
      i++;
    } else out += c < 0x80 ? quoteRune(bytes[i]) : `\\x${hexN(c, 2)}`;
  }
  return `"${out}"`;
}
