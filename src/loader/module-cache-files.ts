/**
 * The 'wasm' engine's module cache as files (src/vm/wasm/module-cache.ts says what an entry holds and why a
 * hit is exact), for the CLI commands that run programs: `run`, `urls`, `conformance`. One file per entry
 * in $BPFKIT_CACHE_DIR/wasm, else $XDG_CACHE_HOME/bpfkit/wasm, else ~/.cache/bpfkit/wasm (src/compile's
 * places), directory mode 0700, checked to be the user's own and closed to others before it is used
 * (someone else's writable directory could hand us a module). `BPFKIT_MODULE_CACHE=off` turns it off;
 * `BPFKIT_MODULE_CACHE=<dir>` puts it elsewhere.
 *
 * - A file is named by a SHA-256 of the code version and the engine's key (the program's complete
 *   code-generation input). The code version is a SHA-256 of bpfkit's version, V8's, and the compiled
 *   files of src/vm/wasm/module-cache.ts's import closure (the code generator and everything it imports,
 *   read once per process, asynchronously, while the command loads its program): editing any of them,
 *   or rebuilding them differently, names every entry anew, and the old ones age out.
 * - A file is 'BPFKMC01', the SHA-256 of the payload, the payload. One that is short, foreign or whose
 *   digest does not match is a miss (and the engine compiles and writes it again): never used, never thrown.
 * - Writes go to a temporary file of this process, then rename over the name: readers and concurrent
 *   writers see a whole old entry or a whole new one.
 * - After a write the directory is held under its size bound (BPFKIT_MODULE_CACHE_MAX bytes, default
 *   64 MiB) by removing the oldest files first; temporary files left by a crash go once they are a minute old.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configureVmHost } from '../vm/host-environment.js';
import type { ModuleCache } from '../vm/wasm/module-cache.js';

const MAGIC = Buffer.from('BPFKMC01', 'latin1');
const DIGEST = 32;
const HEADER = MAGIC.length + DIGEST;
const DEFAULT_MAX = 64 << 20;
/** Temporary files older than this are a crashed writer's. */
const STALE_TMP_MS = 60_000;

/** Where the cache lives, from the environment (undefined: turned off). */
export function moduleCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env.BPFKIT_MODULE_CACHE;
  if (v !== undefined && /^(off|0|no|false)$/i.test(v)) return undefined;
  if (v !== undefined && v !== '' && !/^(on|1|yes|true)$/i.test(v)) return join(resolve(v), 'wasm');
  // (beside src/compile's cache of compiled C, which takes the same places)
  if (env.BPFKIT_CACHE_DIR) return join(resolve(env.BPFKIT_CACHE_DIR), 'wasm');
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg !== undefined && xdg.startsWith('/') ? xdg : join(homedir(), '.cache');
  return join(base, 'bpfkit', 'wasm');
}

/** The version that separates entries of different code generators (see the file comment). */
async function codeVersion(): Promise<string> {
  const h = createHash('sha256');
  const pkg = fileURLToPath(new URL('../../../package.json', import.meta.url));
  const version = await readFile(pkg, 'utf8').then(
    (text) => String((JSON.parse(text) as { version?: unknown }).version),
    () => 'no package.json',
  );
  h.update(`${version}\0${process.versions.v8}\0`);
  // the import closure of the engine's cache entry point, read a level at a time (the reads overlap)
  const contents = new Map<string, Buffer>();
  let level = [fileURLToPath(new URL('../vm/wasm/module-cache.js', import.meta.url))];
  while (level.length > 0) {
    for (const f of level) contents.set(f, Buffer.alloc(0));
    const read = await Promise.all(level.map((f) => readFile(f)));
    const next = new Set<string>();
    level.forEach((file, i) => {
      const bytes = read[i] as Buffer;
      contents.set(file, bytes);
      for (const m of bytes.toString('latin1').matchAll(/\b(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const dep = resolve(dirname(file), m[1] as string);
        if (!contents.has(dep)) next.add(dep);
      }
    });
    level = [...next];
  }
  for (const f of [...contents.keys()].sort())
    h.update(`\0${f.slice(f.lastIndexOf('/src/'))}\0`).update(contents.get(f) as Buffer);
  return h.digest('hex');
}

/**
 * A module cache in files under `dir` (created 0700; see the file comment). It answers once `ready()`
 * has settled (the directory checked, the code version computed, asynchronously, while the caller
 * loads its program); before that, and when the directory is not usable, every get is a miss and every
 * set does nothing.
 */
export class FileModuleCache implements ModuleCache {
  private version: string | undefined;
  private preparing: Promise<boolean> | undefined;

  constructor(
    /** The directory entries go to. */
    readonly dir: string,
    /** Size bound of the directory, bytes. */
    readonly maxBytes = DEFAULT_MAX,
  ) {}

  /** Check the directory (ours, nobody else's to write) and compute the code version: whether it is usable. */
  ready(): Promise<boolean> {
    this.preparing ??= this.prepare().then(
      (v) => {
        this.version = v;
        return true;
      },
      () => false,
    );
    return this.preparing;
  }

  private async prepare(): Promise<string> {
    const version = codeVersion();
    version.catch(() => undefined); // (awaited below, after the directory)
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const st = await stat(this.dir);
    const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
    if (!st.isDirectory() || st.uid !== uid) throw new Error('not our directory');
    if ((st.mode & 0o077) !== 0) await chmod(this.dir, 0o700);
    return version;
  }

  private path(version: string, input: Uint8Array): string {
    const name = createHash('sha256').update(version).update('\0').update(input).digest('hex');
    return join(this.dir, `${name.slice(0, 40)}.bin`);
  }

  /** The payload stored for `input`, when its file is whole and its digest matches. */
  get(input: Uint8Array): Uint8Array | undefined {
    if (this.version === undefined) return undefined;
    try {
      const fd = openSync(this.path(this.version, input), 'r');
      let file: Buffer;
      try {
        const size = fstatSync(fd).size;
        if (size < HEADER || size > this.maxBytes) return undefined;
        file = Buffer.allocUnsafe(size);
        let got = 0;
        while (got < size) {
          const n = readSync(fd, file, got, size - got, got);
          if (n === 0) return undefined;
          got += n;
        }
      } finally {
        closeSync(fd);
      }
      if (!file.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
      const payload = file.subarray(HEADER);
      const digest = createHash('sha256').update(payload).digest();
      return digest.equals(file.subarray(MAGIC.length, HEADER)) ? payload : undefined;
    } catch {
      return undefined;
    }
  }

  /** Store `payload` for `input`: a temporary file renamed over the name, then the size bound kept. */
  set(input: Uint8Array, payload: Uint8Array): void {
    if (this.version === undefined || HEADER + payload.length > this.maxBytes / 4) return;
    try {
      const target = this.path(this.version, input);
      const tmp = `${target}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
      const digest = createHash('sha256').update(payload).digest();
      writeFileSync(tmp, Buffer.concat([MAGIC, digest, payload]), { mode: 0o600, flag: 'wx' });
      try {
        renameSync(tmp, target);
      } catch {
        unlinkSync(tmp);
        return;
      }
      this.evict();
    } catch {
      // (no entry: the next process compiles again)
    }
  }

  /** Remove the oldest files until the directory fits its bound; stale temporary files go too. */
  private evict(): void {
    const now = Date.now();
    const files: { path: string; size: number; mtime: number }[] = [];
    let total = 0;
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name);
      try {
        const st = statSync(path);
        if (!st.isFile()) continue;
        if (name.endsWith('.tmp')) {
          if (now - st.mtimeMs > STALE_TMP_MS) unlinkSync(path);
          continue;
        }
        files.push({ path, size: st.size, mtime: st.mtimeMs });
        total += st.size;
      } catch {
        // (another process removed it)
      }
    }
    if (total <= this.maxBytes) return;
    files.sort((a, b) => a.mtime - b.mtime);
    for (const f of files) {
      if (total <= this.maxBytes) break;
      try {
        unlinkSync(f.path);
      } catch {
        // (gone already)
      }
      total -= f.size;
    }
  }
}

/**
 * Turn the file cache on for this process's 'wasm' engine, as the environment says (BPFKIT_MODULE_CACHE,
 * BPFKIT_MODULE_CACHE_MAX, XDG_CACHE_HOME): the CLI's program-running commands call it first, and await
 * what it returns (the cache ready, or known unusable; it never rejects) before their first run, so the
 * preparation overlaps the loading of the program.
 */
export function useModuleCacheFiles(env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  const dir = moduleCacheDir(env);
  if (dir === undefined) {
    configureVmHost({ moduleCache: undefined });
    return Promise.resolve();
  }
  const max = Number(env.BPFKIT_MODULE_CACHE_MAX);
  const cache = new FileModuleCache(dir, Number.isSafeInteger(max) && max > 0 ? max : DEFAULT_MAX);
  configureVmHost({ moduleCache: cache });
  return cache.ready();
}
