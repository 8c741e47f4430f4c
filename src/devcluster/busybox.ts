// Offline "busybox" image: Docker Hub is unreachable, so build a rootfs from the
// host's static busybox, tar it once, and import it into each engine.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { apiJson, api, runOk } from './util.js';

export const BUSYBOX_BIN = '/bin/busybox';
export const DEFAULT_CACHE_DIR = '/var/tmp/swarm-classic-cache';

/** Path of the cached busybox rootfs tar, built if missing or older than /bin/busybox. */
export async function busyboxTar(cacheDir = DEFAULT_CACHE_DIR): Promise<string> {
  const tarPath = path.join(cacheDir, 'busybox-rootfs.tar');
  const bin = fs.statSync(BUSYBOX_BIN);
  try {
    if (fs.statSync(tarPath).mtimeMs >= bin.mtimeMs) return tarPath;
  } catch {
    /* not built yet */
  }
  fs.mkdirSync(cacheDir, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-busybox-'));
  try {
    const root = path.join(work, 'rootfs');
    for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root']) fs.mkdirSync(path.join(root, d), { recursive: true });
    fs.chmodSync(path.join(root, 'tmp'), 0o1777);
    fs.copyFileSync(BUSYBOX_BIN, path.join(root, 'bin/busybox'));
    fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
    const applets = (await runOk(BUSYBOX_BIN, ['--list'])).split('\n').map((s) => s.trim()).filter(Boolean);
    for (const a of applets) {
      if (a === 'busybox' || a.includes('/')) continue;
      fs.symlinkSync('busybox', path.join(root, 'bin', a));
    }
    // Minimal files so `id`, `whoami` and name lookups behave.
    fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n');
    fs.writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nnobody:x:65534:\n');
    // Write next to the final path and rename, so concurrent builders never see a partial tar.
    const tmpTar = `${tarPath}.${process.pid}.tmp`;
    await runOk('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '-cf', tmpTar, '.']);
    fs.renameSync(tmpTar, tarPath);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return tarPath;
}

/** Import the busybox tar as busybox:latest (CMD ["sh"]) into the engine at addr. */
export async function importBusybox(addr: string, tarPath: string): Promise<void> {
  await importRootfs(addr, fs.readFileSync(tarPath), 'busybox:latest', ['CMD ["sh"]']);
}

/**
 * `docker import` of a root filesystem tar as `ref` (repo:tag) with Dockerfile
 * `changes`, into the engine at addr (its unix socket or plain host:port).
 */
export async function importRootfs(addr: string, tar: Buffer, ref: string, changes: readonly string[]): Promise<void> {
  const [repo, tag] = ref.split(':');
  const ch = changes.map((c) => `&changes=${encodeURIComponent(c)}`).join('');
  const res = await api(addr, 'POST', `/images/create?fromSrc=-&repo=${repo}&tag=${tag}${ch}`, {
    body: tar,
    headers: { 'Content-Type': 'application/x-tar' },
    timeoutMs: 120_000,
  });
  // The progress stream can carry an error even with HTTP 200.
  if (res.status !== 200 || res.body.includes('"errorDetail"')) {
    throw new Error(`importing ${ref} into ${addr} failed: HTTP ${res.status}: ${res.body.slice(0, 500)}`);
  }
  await apiJson(addr, 'GET', `/images/${ref}/json`);
}
