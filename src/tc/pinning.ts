/**
 * tc's object pinning rules (tc-bpf(8), iproute2's bpf loader): a map whose `struct bpf_elf_map` says
 * PIN_GLOBAL_NS — or a BTF `.maps` entry with LIBBPF_PIN_BY_NAME — lives at /sys/fs/bpf/tc/globals/NAME and
 * is shared by every object that names it; PIN_OBJECT_NS pins it in a directory of its own object,
 * /sys/fs/bpf/tc/<sha1 of the object file>/NAME, so two filters from one file share it. A pinned map is
 * reused when its type, key, value and entry count match and refused with a clear error when they do not
 * (the kernel loader's shape check).
 */
import { createHash } from 'node:crypto';

/** The bpffs root tc uses. */
export const TC_BPFFS_ROOT = '/sys/fs/bpf/tc';
/** PIN_GLOBAL_NS's directory. */
export const TC_GLOBALS = `${TC_BPFFS_ROOT}/globals`;

/** The per-object namespace directory: named after the SHA-1 of the object's bytes, as tc names it. */
export function objectPinDir(objectBytes: Uint8Array): string {
  return `${TC_BPFFS_ROOT}/${createHash('sha1').update(objectBytes).digest('hex')}`;
}

/** The pin path of one map under tc's rules, or undefined for PIN_NONE. */
export function tcMapPinPath(
  map: { name: string; pinning: 'none' | 'object' | 'global' },
  objectDir: string,
): string | undefined {
  if (map.pinning === 'global') return `${TC_GLOBALS}/${map.name}`;
  if (map.pinning === 'object') return `${objectDir}/${map.name}`;
  return undefined;
}
