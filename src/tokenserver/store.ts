// The token service's state: cluster tokens, each with its registered
// `ip:port` entries and their expiry (absolute wall-clock ms, so a restart
// honours TTLs granted before it). One JSON file per token in the data dir,
// replaced atomically (temp file, fsync, rename, fsync of the directory).
// Every mutation is on disk before its caller may acknowledge it: a crash
// loses nothing that was acknowledged.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { coalesce } from '../util/mutex.js';
import { log } from '../log.js';

/** At most this many tokens, and entries under one token (a cluster of 10,000 engines is far past any we serve). */
export const MAX_TOKENS = 100_000;
export const MAX_ENTRIES = 10_000;
/** A token with no live entry for this long is forgotten. */
const EMPTY_TOKEN_MS = 24 * 3_600_000;

/** The store is at one of its bounds. */
export class StoreFullError extends Error {}

/**
 * Tokens the service accepts. `POST /v1/clusters` makes 32 lowercase hex
 * digits, as the hosted service did; registering under any other token of
 * these characters creates it (the hosted service took any token too).
 */
export const TOKEN_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** File format version, written into every token file. */
const FORMAT = 1;

/** A token's file: `token-<hex of the token>.json` (safe on case-insensitive file systems). */
const FILE_RE = /^token-([0-9a-f]+)\.json$/;
const fileName = (token: string): string => `token-${Buffer.from(token, 'utf8').toString('hex')}.json`;

interface TokenFile { format: number; token: string; entries: Record<string, number> }

export class TokenStore {
  /** token -> (addr -> expiry, wall-clock ms); Map order is first registration. */
  private readonly tokens = new Map<string, Map<string, number>>();
  /** Tokens with no live entry, and since when (ms), for sweep(). */
  private readonly emptySince = new Map<string, number>();
  /** One coalescing writer per token: a write never overlaps another of the same file. */
  private readonly writers = new Map<string, () => Promise<void>>();
  private readonly inflight = new Set<Promise<void>>();
  private dead = false;
  private seq = 0;

  private constructor(readonly dir: string, private readonly now: () => number) {}

  /** Open (creating it if need be) the data dir and load every token file in it. */
  static async open(dir: string, now: () => number = Date.now): Promise<TokenStore> {
    const store = new TokenStore(path.resolve(dir), now);
    await fsp.mkdir(store.dir, { recursive: true, mode: 0o700 });
    await store.load();
    return store;
  }

  get size(): number { return this.tokens.size; }

  private async load(): Promise<void> {
    for (const name of await fsp.readdir(this.dir)) {
      const file = path.join(this.dir, name);
      if (name.endsWith('.tmp')) {
        // A write that never reached its rename: never acknowledged.
        await fsp.rm(file, { force: true });
        continue;
      }
      const m = FILE_RE.exec(name);
      if (!m) continue;
      let data: TokenFile;
      try {
        data = JSON.parse(await fsp.readFile(file, 'utf8')) as TokenFile;
        if (data.format !== FORMAT || typeof data.token !== 'string' || fileName(data.token) !== name ||
            typeof data.entries !== 'object' || data.entries === null) {
          throw new Error('not a token file of this version');
        }
      } catch (err) {
        // Renames are atomic, so this is not a torn write of ours: keep it aside, loudly.
        const aside = `${file}.corrupt-${this.now()}`;
        log.error('token server: unreadable token file set aside', { file, error: (err as Error).message, movedTo: aside });
        await fsp.rename(file, aside).catch(() => undefined);
        continue;
      }
      const entries = new Map<string, number>();
      const t = this.now();
      for (const [addr, exp] of Object.entries(data.entries)) {
        if (typeof exp === 'number' && exp > t) entries.set(addr, exp);
      }
      this.tokens.set(data.token, entries);
    }
  }

  /** A new random token (32 hex digits), on disk when this resolves. */
  async create(): Promise<string> {
    this.roomForToken();
    let token: string;
    do token = randomBytes(16).toString('hex'); while (this.tokens.has(token));
    this.tokens.set(token, new Map());
    await this.persist(token);
    return token;
  }

  /** Register or renew `addr` under `token` for `ttlMs` (creating the token); on disk when this resolves. */
  async register(token: string, addr: string, ttlMs: number): Promise<void> {
    let entries = this.tokens.get(token);
    if (!entries) { this.roomForToken(); entries = new Map(); this.tokens.set(token, entries); }
    if (!entries.has(addr) && entries.size >= MAX_ENTRIES) {
      this.list(token); // drop the expired ones first
      if (entries.size >= MAX_ENTRIES) throw new StoreFullError(`token ${token} already has ${MAX_ENTRIES} entries`);
    }
    entries.set(addr, this.now() + ttlMs);
    await this.persist(token);
  }

  /** The live entries of `token` in order of first registration; [] for a token nobody created or registered under. */
  list(token: string): string[] {
    const entries = this.tokens.get(token);
    if (!entries) return [];
    const t = this.now();
    const out: string[] = [];
    for (const [addr, exp] of entries) {
      if (exp > t) out.push(addr); else entries.delete(addr);
    }
    return out;
  }

  has(token: string): boolean { return this.tokens.has(token); }

  /** Bounded: an open service must not be filled until its disk or memory runs out. */
  private roomForToken(): void {
    if (this.tokens.size < MAX_TOKENS) return;
    this.sweep();
    if (this.tokens.size >= MAX_TOKENS) throw new StoreFullError(`the service already holds ${MAX_TOKENS} tokens`);
  }

  /** Forget `token` and its entries; gone from disk when this resolves. */
  async delete(token: string): Promise<void> {
    this.tokens.delete(token);
    await this.persist(token);
  }

  /**
   * Drop expired entries from memory (the files lose them on their next
   * write), and tokens with none left for a day from memory and disk.
   */
  sweep(): void {
    const t = this.now();
    for (const [token, entries] of this.tokens) {
      this.list(token);
      if (entries.size > 0) { this.emptySince.delete(token); continue; }
      const since = this.emptySince.get(token) ?? t;
      this.emptySince.set(token, since);
      if (t - since > EMPTY_TOKEN_MS) { this.tokens.delete(token); this.emptySince.delete(token); void this.persist(token).catch(() => undefined); }
    }
  }

  /** Wait for the writes in flight; the store takes no more. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    this.dead = true;
  }

  /** Stop at once, as a crash would: later mutations fail, writes in flight are not waited for. */
  abort(): void { this.dead = true; }

  /** Write `token`'s current state (or remove its file), coalescing concurrent callers. */
  private persist(token: string): Promise<void> {
    if (this.dead) return Promise.reject(new Error('token store is closed'));
    let writer = this.writers.get(token);
    if (!writer) {
      writer = coalesce(() => this.write(token));
      this.writers.set(token, writer);
    }
    const p = writer();
    this.inflight.add(p);
    const done = (): void => { this.inflight.delete(p); };
    p.then(done, done);
    return p;
  }

  private async write(token: string): Promise<void> {
    if (this.dead) throw new Error('token store is closed');
    const file = path.join(this.dir, fileName(token));
    const entries = this.tokens.get(token);
    if (!entries) {
      await fsp.rm(file, { force: true });
      await this.syncDir();
      return;
    }
    const t = this.now();
    const live: Record<string, number> = {};
    for (const [addr, exp] of entries) if (exp > t) live[addr] = exp;
    const body: TokenFile = { format: FORMAT, token, entries: live };
    const tmp = `${file}.${process.pid}.${++this.seq}.tmp`;
    try {
      const fh = await fsp.open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(JSON.stringify(body));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, file);
    } catch (err) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
    await this.syncDir();
  }

  /** fsync the directory so the rename (or unlink) itself is durable. */
  private async syncDir(): Promise<void> {
    const d = await fsp.open(this.dir, 'r');
    try {
      await d.sync();
    } catch (err) {
      // Some platforms cannot fsync a directory; there the rename is as durable as it gets.
      if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    } finally {
      await d.close();
    }
  }
}
