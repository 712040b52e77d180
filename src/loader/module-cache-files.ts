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
 *   read once per process, synchronously, on the store's first use): editing any of them, or rebuilding
 *   them differently, names every entry anew, and the old ones age out. The closure found is kept in the
 *   directory as code-<id>.json, so a later process checks the listed files' stamps (a stat each), or
 *   reads and hashes them, without scanning them for imports (codeVersion says why that stays exact).
 * - A file is 'BPFKMC01', the SHA-256 of the payload, the payload. One that is short, foreign or whose
 *   digest does not match is a miss (and the engine compiles and writes it again): never used, never thrown.
 * - Writes go to a temporary file of this process, then rename over the name: readers and concurrent
 *   writers see a whole old entry or a whole new one.
 * - After a write the directory is held under its size bound (BPFKIT_MODULE_CACHE_MAX bytes, default
 *   64 MiB) by removing the oldest files first; temporary files left by a crash go once they are a minute old.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  mkdirSync,
  readFileSync,
  fstatSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
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
/** The tag of the code manifest's format (see codeVersion). */
const MANIFEST_FORMAT = 'bpfkit-module-cache-code/2';
/** Stamps of files changed less than this before they were read are not kept (see StampedReads). */
const SETTLED_MS = 3000;

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

/** Compiled files imported by a file: its relative `import`/`export ... from` and `import(...)` specifiers, resolved. */
function importsOf(file: string, bytes: Buffer): string[] {
  const deps: string[] = [];
  for (const m of bytes.toString('latin1').matchAll(/\b(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g))
    deps.push(resolve(dirname(file), m[1] as string));
  return deps;
}

/** What the kernel says of a file (device, inode, size, modification and change times), as one string. */
function stampOf(file: string): string {
  const st = statSync(file);
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/**
 * Files read for the code version, each stamped just BEFORE it is read: a write after the stamp changes the
 * file's change time, so a stamp that still matches later means the bytes read are still the bytes there.
 */
class StampedReads {
  readonly bytes = new Map<string, Buffer>();
  readonly stamps = new Map<string, string>();
  /** Date.now() before the first stamp (the racy-stamp rule in `settledStamps`). */
  readonly began = Date.now();

  constructor(
    /** How long before the reading a file must have last changed for its stamp to be kept. */
    private readonly settledMs: number,
  ) {}

  read(file: string): Buffer {
    this.stamps.set(file, stampOf(file));
    const bytes = readFileSync(file);
    this.bytes.set(file, bytes);
    return bytes;
  }

  /**
   * The stamps of `files`, when every one was last changed well before the reading began; else undefined.
   * (A file changed within the file system's timestamp granularity of our stamp could change again, within
   * the same tick, keeping its stamp: such stamps are not kept, and the next process reads the bytes.)
   */
  settledStamps(files: readonly string[]): string[] | undefined {
    const stamps = files.map((f) => this.stamps.get(f));
    // (a file never stamped, package.json gone say, leaves the manifest without stamps)
    const settled = stamps.every((s) => {
      if (s === undefined) return false;
      const [, , , mtime, ctime] = s.split(':').map(Number);
      return (mtime as number) < this.began - this.settledMs && (ctime as number) < this.began - this.settledMs;
    });
    return settled ? (stamps as string[]) : undefined;
  }
}

/** The code version over `files` (absolute paths; sorted here), read through `reads`. */
function versionOf(files: readonly string[], reads: StampedReads, pkg: string): string {
  let version: string;
  try {
    version = String((JSON.parse(reads.read(pkg).toString('utf8')) as { version?: unknown }).version);
  } catch {
    version = 'no package.json';
  }
  const h = createHash('sha256').update(`${version}\0${process.versions.v8}\0`);
  // (named from src/ down, so copies of the same files give the same version)
  for (const f of [...files].sort())
    h.update(`\0${f.slice(f.lastIndexOf('/src/'))}\0`).update(reads.bytes.get(f) ?? reads.read(f));
  return h.digest('hex');
}

/** The import closure of `entry`, every file read and scanned: the slow, always exact way. */
function scanClosure(entry: string, reads: StampedReads): string[] {
  const todo = [entry];
  for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
    if (reads.bytes.has(f)) continue;
    for (const dep of importsOf(f, reads.read(f))) if (!reads.bytes.has(dep)) todo.push(dep);
  }
  return [...reads.bytes.keys()];
}

/** A code manifest (see codeVersion). */
interface Manifest {
  format: string;
  v8: string;
  version: string;
  /** the import closure, absolute paths; package.json is the last */
  files: string[];
  /** each file's stamp (stampOf), when they were settled */
  stamps?: string[];
}

/**
 * The code version (see the file comment) of the code generator whose cache entry point is `entry`. Finding
 * the import closure means scanning every file for its imports, so the closure found is kept in `manifest`
 * (a file of the cache directory) with the version it gave, and each file's stamp (device, inode, size,
 * modification and change times) taken before it was read. A later process:
 * - takes the version when every stamp matches (a stat per file, no reads): any write to a file since
 *   changes its change time, which the kernel sets and no one can set back (stamps of files changed just
 *   before they were read are never kept: see StampedReads);
 * - else reads and hashes the listed files and takes the version when the result is it: the same contents
 *   of the same files (SHA-256) import the same files, so the closure is the same;
 * - else (no manifest, a foreign one, a file edited, added or gone) scans afresh.
 * Whatever it learned replaces the manifest.
 */
function codeVersion(entry: string, manifest: string, settledMs: number): string {
  const pkg = fileURLToPath(new URL('../../../package.json', import.meta.url));
  const reads = new StampedReads(settledMs);
  let m: Partial<Manifest> | undefined;
  try {
    m = JSON.parse(readFileSync(manifest, 'utf8')) as Partial<Manifest>;
  } catch {
    // (none yet, or torn: scan)
  }
  let files: string[] | undefined;
  let version: string | undefined;
  if (
    m?.format === MANIFEST_FORMAT &&
    m.v8 === process.versions.v8 &&
    typeof m.version === 'string' &&
    Array.isArray(m.files) &&
    m.files.every((f) => typeof f === 'string') &&
    m.files[0] === entry &&
    m.files[m.files.length - 1] === pkg
  ) {
    try {
      if (m.stamps?.length === m.files.length && m.files.every((f, i) => stampOf(f) === m.stamps?.[i]))
        return m.version;
      if (versionOf(m.files.slice(0, -1), reads, pkg) === m.version) [files, version] = [m.files, m.version];
    } catch {
      // (a listed file gone: scan)
    }
  }
  if (files === undefined || version === undefined) {
    const fresh = new StampedReads(settledMs);
    const closure = scanClosure(entry, fresh);
    version = versionOf(closure, fresh, pkg);
    files = [...closure, pkg];
    return keep(manifest, { format: MANIFEST_FORMAT, v8: process.versions.v8, version, files }, fresh);
  }
  return keep(manifest, { format: MANIFEST_FORMAT, v8: process.versions.v8, version, files }, reads);
}

/** Write `m`, with its files' stamps when settled, over `manifest` (whole or not at all); return its version. */
function keep(manifest: string, m: Manifest, reads: StampedReads): string {
  const stamps = reads.settledStamps(m.files);
  try {
    const tmp = `${manifest}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(tmp, JSON.stringify(stamps ? { ...m, stamps } : m), { mode: 0o600, flag: 'wx' });
    renameSync(tmp, manifest);
  } catch {
    // (no manifest: the next process scans again)
  }
  return m.version;
}

/**
 * A module cache in files under `dir` (created 0700; see the file comment). It prepares itself (the
 * directory checked, the code version computed, synchronously) on first use, so a process that never
 * compiles pays nothing; when the directory is not usable every get is a miss and every set does nothing.
 */
export class FileModuleCache implements ModuleCache {
  private version: string | undefined;
  private prepared = false;

  constructor(
    /** The directory entries go to. */
    readonly dir: string,
    /** Size bound of the directory, bytes. */
    readonly maxBytes = DEFAULT_MAX,
    /** The compiled cache entry point whose import closure is the code generator (tests point it at a copy). */
    readonly entry = fileURLToPath(new URL('../vm/wasm/module-cache.js', import.meta.url)),
    /**
     * How long before they are read the files must have last changed for their stamps to be kept (see
     * codeVersion); tests give a negative value to keep stamps of files they just wrote.
     */
    readonly settledMs = SETTLED_MS,
  ) {}

  /** Check the directory (ours, nobody else's to write) and compute the code version: whether it is usable. */
  ready(): Promise<boolean> {
    return Promise.resolve(this.usable());
  }

  /** The preparation, done once (by `ready()` or the first get or set). */
  private usable(): boolean {
    if (!this.prepared) {
      this.prepared = true;
      try {
        mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        const st = statSync(this.dir);
        const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
        if (!st.isDirectory() || st.uid !== uid) throw new Error('not our directory');
        if ((st.mode & 0o077) !== 0) chmodSync(this.dir, 0o700);
        // (one manifest per installed copy of bpfkit sharing the directory)
        const which = createHash('sha256').update(this.entry).digest('hex').slice(0, 16);
        this.version = codeVersion(this.entry, join(this.dir, `code-${which}.json`), this.settledMs);
      } catch {
        this.version = undefined;
      }
    }
    return this.version !== undefined;
  }

  private path(version: string, input: Uint8Array): string {
    const name = createHash('sha256').update(version).update('\0').update(input).digest('hex');
    return join(this.dir, `${name.slice(0, 40)}.bin`);
  }

  /** The payload stored for `input`, when its file is whole and its digest matches. */
  get(input: Uint8Array): Uint8Array | undefined {
    if (!this.usable() || this.version === undefined) return undefined;
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
    if (!this.usable() || this.version === undefined || HEADER + payload.length > this.maxBytes / 4) return;
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
        if (!name.endsWith('.bin')) continue; // (the code manifest stays)
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
 * BPFKIT_MODULE_CACHE_MAX, XDG_CACHE_HOME): the CLI's program-running commands call it first. The store
 * prepares itself on its first use, so a command that never compiles pays nothing; what this returns is
 * already settled (kept so callers may await it; it never rejects).
 */
export function useModuleCacheFiles(env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  const dir = moduleCacheDir(env);
  if (dir === undefined) {
    configureVmHost({ moduleCache: undefined });
    return Promise.resolve();
  }
  const max = Number(env.BPFKIT_MODULE_CACHE_MAX);
  configureVmHost({ moduleCache: new FileModuleCache(dir, Number.isSafeInteger(max) && max > 0 ? max : DEFAULT_MAX) });
  return Promise.resolve();
}
