/**
 * vmlinux.h on demand: a program that includes "vmlinux.h" (or <vmlinux.h>) gets one written from a
 * BTF file — the running kernel's by default — by bpfkit's own BTF→C writer, so CO-RE programs build
 * with no kernel headers and no `bpftool btf dump` step. The header is generated once per BTF identity
 * (the SHA-256 of its bytes) into the cache directory; the directory's name carries that hash, so the
 * compile cache keys on the kernel's types without hashing 2.6 MB of C on every lookup.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseBtf } from '../btf/btf.js';
import { writeC } from '../btf/c-writer.js';
import { kernelMacroHeader, kernelRecordNames } from './bcc/kernel-facts.js';
import { EnvironmentError, InputError } from '../util/errors.js';
import { sha256, writeAtomic } from './cache.js';

/** Where the running kernel publishes its BTF. */
export const KERNEL_BTF = '/sys/kernel/btf/vmlinux';

/** The header beside vmlinux.h with the kernel macros BTF can give (bcc.h includes it). */
export const KERNEL_MACROS_HEADER = 'bcc-kernel-macros.h';
const KERNEL_RECORDS_FILE = 'kernel-records.txt';

/** True when `text` includes vmlinux.h itself (quoted or angled), as CO-RE programs do. */
export function includesVmlinux(text: string): boolean {
  return /^[ \t]*#[ \t]*include[ \t]*[<"]vmlinux\.h[>"]/m.test(text);
}

/** BTF file hashes by path, with the stat they were taken at: one read per process per kernel. */
const hashes = new Map<string, { mtimeMs: number; size: number; hash: string; bytes?: Uint8Array }>();

function btfIdentity(file: string, kernel: boolean): { hash: string; read: () => Uint8Array } {
  let bytes: Uint8Array | undefined;
  try {
    const st = statSync(file);
    const known = hashes.get(file);
    if (known && known.mtimeMs === st.mtimeMs && known.size === st.size)
      return { hash: known.hash, read: () => readFileSync(file) };
    bytes = readFileSync(file);
    hashes.set(file, { mtimeMs: st.mtimeMs, size: st.size, hash: sha256(bytes) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (kernel)
      throw new EnvironmentError(
        `the program includes vmlinux.h and this kernel publishes no BTF (${file}: ${code}); pass a BTF file as the vmlinux option`,
      );
    throw new InputError(`cannot read BTF for vmlinux.h: ${code}`, file);
  }
  const hash = hashes.get(file)!.hash;
  const held = bytes;
  return { hash, read: () => held };
}

/**
 * The directory holding vmlinux.h for BTF `file` (default the running kernel's), writing it on first use.
 * Returns the directory (to add to the include path).
 */
export function vmlinuxHeaderDir(cacheRoot: string, file?: string): string {
  const btfFile = file ?? KERNEL_BTF;
  const { hash, read } = btfIdentity(btfFile, file === undefined);
  const dir = path.join(cacheRoot, `vmlinux-${hash.slice(0, 16)}`);
  const complete = existsSync(path.join(dir, '.complete'));
  // (a directory an older bpfkit completed has vmlinux.h without the BCC facts: they are added)
  if (!complete || !existsSync(path.join(dir, KERNEL_RECORDS_FILE))) {
    const btf = parseBtf(read(), btfFile);
    if (!complete) writeAtomic(path.join(dir, 'vmlinux.h'), writeC(btf));
    writeAtomic(path.join(dir, KERNEL_MACROS_HEADER), kernelMacroHeader(btf));
    writeAtomic(path.join(dir, KERNEL_RECORDS_FILE), `${kernelRecordNames(btf).join('\n')}\n`);
    if (!complete) writeAtomic(path.join(dir, '.complete'), hash);
  }
  return dir;
}

/** The struct and union tags the vmlinux.h in `dir` (from vmlinuxHeaderDir) defines. */
export function vmlinuxRecordNames(dir: string): ReadonlySet<string> {
  return new Set(readFileSync(path.join(dir, KERNEL_RECORDS_FILE), 'utf8').split('\n').filter(Boolean));
}
