/**
 * The CO-RE step between parsing and loading: a spec whose programs carry CO-RE relocations is relocated
 * here, once, against one target BTF, and both engines get the same instructions — so the VM reads the
 * fields the kernel would. The target is the BTF the caller names (a file or bytes), else the running
 * kernel's `/sys/kernel/btf/vmlinux`; with neither, the load is refused in one line rather than run at
 * the offsets the compiler guessed.
 */
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import type { ObjectSpec } from '../elf/spec.js';
import { parseBtf, type Btf } from '../btf/btf.js';
import { applyCoreRelocations, hasCoreRelocations } from '../elf/core-apply.js';
import { EnvironmentError, InputError } from '../util/errors.js';

/** Where the running kernel publishes its own BTF. */
export const KERNEL_BTF_PATH = '/sys/kernel/btf/vmlinux';

/**
 * Parsed target BTFs by path, with the file's mtime and size when read: a process that loads many
 * objects parses vmlinux (~125k types) once, and a file replaced since is read again.
 */
const parsedByPath = new Map<string, { mtimeMs: number; size: number; btf: Btf }>();

/** Read and parse a target BTF file; `kernel` says the path is the default (a missing file is then exit 3). */
function readTargetBtf(path: string, kernel: boolean): Btf {
  let bytes: Uint8Array;
  let stamp: { mtimeMs: number; size: number };
  try {
    const st = statSync(path);
    stamp = { mtimeMs: st.mtimeMs, size: st.size };
    const cached = parsedByPath.get(path);
    if (cached && cached.mtimeMs === stamp.mtimeMs && cached.size === stamp.size) return cached.btf;
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (kernel)
      throw new EnvironmentError(
        `the object has CO-RE relocations and this kernel publishes no BTF (${path}: ${code}); name a BTF file with --btf`,
      );
    throw new InputError(`cannot read target BTF: ${code}`, path);
  }
  const btf = parseBtf(bytes, path);
  // The running kernel's own BTF says which release it describes: the verifier's per-release facts need it.
  if (path === KERNEL_BTF_PATH) btf.kernelRelease = os.release();
  parsedByPath.set(path, { ...stamp, btf });
  return btf;
}

/** The running kernel's BTF (parsed once per process, again when the file changes); exit 3 when it has none. */
export function kernelBtf(): Btf {
  return readTargetBtf(KERNEL_BTF_PATH, true);
}

/**
 * The parsed BTF of `path` (default: the running kernel's), from the same per-process cache CO-RE
 * uses: tools that read kernel struct offsets share one parse of vmlinux with the loader.
 */
export function targetBtf(path?: string): Btf {
  return readTargetBtf(path ?? KERNEL_BTF_PATH, path === undefined);
}

/**
 * Apply `spec`'s CO-RE relocations against `target` (a BTF file path or raw BTF bytes; default the running
 * kernel's). A spec without relocations comes back unchanged; the input spec is never modified.
 */
export function applyCore(spec: ObjectSpec, target?: string | Uint8Array): ObjectSpec {
  if (!hasCoreRelocations(spec)) return spec;
  const btf =
    target instanceof Uint8Array
      ? parseBtf(target, 'target BTF')
      : readTargetBtf(target ?? KERNEL_BTF_PATH, target === undefined);
  return applyCoreRelocations(spec, btf);
}
