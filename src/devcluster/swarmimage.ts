// The `swarm` image, built offline: Docker Hub is out of reach, so its root
// filesystem is assembled from this machine's Node.js runtime (the binary,
// its shared libraries and the loader, as `ldd` lists them) and the built
// program with its production dependencies, then imported into engines with
// classic Swarm's image settings (entrypoint `swarm`, `--help`, SWARM_HOST
// :2375, port 2375). No shell, no package manager: nothing else runs there.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runOk } from './util.js';
import { DEFAULT_CACHE_DIR, importRootfs } from './busybox.js';

export const SWARM_IMAGE = 'swarm:latest';
/** Where the program lives inside the image. */
const APP_DIR = 'usr/lib/swarm';
/** What of dist/ the program is: the sources, and the filters and strategies they load (not tests, not benches). */
const PROGRAM_DIRS = ['src', 'filters', 'strategies'];

/** Classic Swarm's image settings (its Dockerfile), as `docker import --change` lines. */
export const IMAGE_CHANGES = [
  'ENTRYPOINT ["/swarm"]',
  'CMD ["--help"]',
  'ENV SWARM_HOST=:2375',
  'EXPOSE 2375',
];

/** The repository root (holds package.json and dist/). */
export function repoRoot(): string {
  // dist/src/devcluster -> repo root
  return path.resolve(__dirname, '..', '..', '..');
}

function walk(dir: string, out: string[] = []): string[] {
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) walk(p, out); else out.push(p);
  }
  return out;
}

/** Package directories (relative to the root) that a production install has, from package-lock.json. */
export function productionPackages(lock: any): string[] {
  const out: string[] = [];
  for (const [p, meta] of Object.entries<any>(lock.packages ?? {})) {
    if (!p || meta.dev || meta.devOptional || meta.link) continue;
    out.push(p);
  }
  return out.sort();
}

/** Files the runtime needs: the node binary, then each shared library and the loader `ldd` names. */
export async function runtimeFiles(nodeBin: string): Promise<string[]> {
  const out = [nodeBin];
  for (const line of (await runOk('ldd', [nodeBin])).split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) out.push(m[1]);
  }
  return out;
}

function copyInto(root: string, from: string, to = from, mode?: number): void {
  const dest = path.join(root, to);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(fs.realpathSync(from), dest); // a symlinked library becomes its file
  if (mode !== undefined) fs.chmodSync(dest, mode);
}

/** A package's top-level folders that the program never loads (its tests, benches and examples). */
const UNUSED_DIRS = new Set(['test', 'tests', '__tests__', 'bench', 'benchmark', 'benchmarks', 'example', 'examples']);
/** Files the program never loads: source maps, TypeScript sources and types, and docs. */
const UNUSED_FILE = /\.(map|ts|mts|cts|md|markdown)$/i;
/** Licence and notice files stay, whatever their extension (LICENSE.md is common). */
const LEGAL_FILE = /^(licen[cs]e|copying|notice)/i;

/**
 * Copy a package's own files, leaving its nested node_modules (their own
 * lock entries) and what the program never loads (see above).
 */
function copyPackage(src: string, dest: string, top = true): void {
  fs.mkdirSync(dest, { recursive: true });
  for (const ent of fs.readdirSync(src, { withFileTypes: true })) {
    if (ent.name === 'node_modules') continue;
    if (ent.isDirectory() ? top && UNUSED_DIRS.has(ent.name) : UNUSED_FILE.test(ent.name) && !LEGAL_FILE.test(ent.name)) continue;
    const s = path.join(src, ent.name);
    const d = path.join(dest, ent.name);
    if (ent.isDirectory()) copyPackage(s, d, false);
    else if (ent.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(s), d);
    else fs.copyFileSync(s, d);
  }
}

/** What the image is made of, hashed: it is rebuilt only when one of these changed. */
function contentKey(root: string, nodeBin: string): string {
  const h = crypto.createHash('sha256');
  const st = fs.statSync(nodeBin);
  h.update(`${nodeBin} ${st.size} ${st.mtimeMs}\n`);
  h.update(fs.readFileSync(path.join(root, 'package-lock.json')));
  h.update(fs.readFileSync(path.join(root, 'package.json')));
  for (const f of PROGRAM_DIRS.flatMap((d) => walk(path.join(root, 'dist', d))).sort()) {
    const s = fs.statSync(f);
    h.update(`${path.relative(root, f)} ${s.size} ${s.mtimeMs}\n`);
  }
  return h.digest('hex').slice(0, 16);
}

export interface BuiltImage {
  /** The root filesystem as a tar, ready for `docker import`. */
  tar: string;
  /** Its size, and the part of it that is the Node.js binary and its libraries. */
  bytes: number;
  runtimeBytes: number;
  appBytes: number;
}

/**
 * Build (or reuse) the image's root filesystem tar in `cacheDir`. Needs the
 * program built (dist/src) and its dependencies installed (node_modules).
 */
export async function buildSwarmImageTar(opts: { root?: string; cacheDir?: string; nodeBin?: string } = {}): Promise<BuiltImage> {
  const root = opts.root ?? repoRoot();
  const cacheDir = opts.cacheDir ?? DEFAULT_CACHE_DIR;
  const nodeBin = fs.realpathSync(opts.nodeBin ?? process.execPath);
  if (!fs.existsSync(path.join(root, 'dist', 'src', 'cli', 'main.js'))) throw new Error(`${root}/dist/src/cli/main.js not found: build first (npm run build)`);
  const key = contentKey(root, nodeBin);
  const tarPath = path.join(cacheDir, `swarm-image-${key}.tar`);
  const metaPath = `${tarPath}.json`;
  if (fs.existsSync(tarPath) && fs.existsSync(metaPath)) return { tar: tarPath, ...JSON.parse(fs.readFileSync(metaPath, 'utf8')) };

  fs.mkdirSync(cacheDir, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-image-'));
  try {
    const rootfs = path.join(work, 'rootfs');
    for (const d of ['etc', 'tmp', 'proc', 'sys', 'dev', 'root']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
    fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
    // The runtime: node at /usr/bin/node, each library at the path ldd gave.
    const runtime = await runtimeFiles(nodeBin);
    copyInto(rootfs, nodeBin, '/usr/bin/node', 0o755);
    for (const lib of runtime.slice(1)) copyInto(rootfs, lib, lib, 0o755);
    const runtimeBytes = runtime.reduce((n, f) => n + fs.statSync(fs.realpathSync(f)).size, 0);
    // The program: dist/{src,filters,strategies}, package.json (for --version), production node_modules.
    const app = path.join(rootfs, APP_DIR);
    for (const f of PROGRAM_DIRS.flatMap((d) => walk(path.join(root, 'dist', d)))) {
      if (f.endsWith('.map') || f.endsWith('.d.ts')) continue;
      copyInto(rootfs, f, path.join(APP_DIR, path.relative(root, f)));
    }
    copyInto(rootfs, path.join(root, 'package.json'), path.join(APP_DIR, 'package.json'));
    const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
    for (const p of productionPackages(lock)) {
      const src = path.join(root, p);
      if (!fs.existsSync(src)) continue; // an optional package not installed here
      copyPackage(src, path.join(app, p));
    }
    const appBytes = walk(app).reduce((n, f) => n + fs.lstatSync(f).size, 0);
    // The entrypoint: run by the kernel through its #! line (no shell in the image).
    fs.writeFileSync(path.join(rootfs, 'swarm'), `#!/usr/bin/node\nrequire('/${APP_DIR}/dist/src/cli/main.js').main(process.argv.slice(2));\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/swarm\nnobody:x:65534:65534:nobody:/:/swarm\n');
    fs.writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\nnobody:x:65534:\n');
    fs.writeFileSync(path.join(rootfs, 'etc/nsswitch.conf'), 'hosts: files dns\n');
    // Written next to the final path and renamed: concurrent builders never see a partial tar.
    const tmpTar = `${tarPath}.${process.pid}.tmp`;
    await runOk('tar', ['-C', rootfs, '--numeric-owner', '--owner=0', '--group=0', '--sort=name', '--mtime=@0', '-cf', tmpTar, '.']);
    const meta = { bytes: fs.statSync(tmpTar).size, runtimeBytes, appBytes };
    fs.renameSync(tmpTar, tarPath);
    fs.writeFileSync(metaPath, JSON.stringify(meta));
    // Older builds are of no further use.
    for (const f of fs.readdirSync(cacheDir)) {
      if (/^swarm-image-[0-9a-f]{16}\.tar(\.json)?$/.test(f) && !f.startsWith(`swarm-image-${key}`)) fs.rmSync(path.join(cacheDir, f), { force: true });
    }
    return { tar: tarPath, ...meta };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Import the tar as swarm:latest into each engine (its unix socket or plain host:port), read once for all. */
export async function importSwarmImage(addrs: readonly string[], tarPath: string): Promise<void> {
  const tar = fs.readFileSync(tarPath);
  await Promise.all(addrs.map((addr) => importRootfs(addr, tar, SWARM_IMAGE, IMAGE_CHANGES)));
}
