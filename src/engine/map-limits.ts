/**
 * The sizes the kernel accepts when it creates a map (each map type's map_alloc_check), checked on the
 * spec before either engine creates anything: a map whose key or value size no kernel would take is a
 * fault of the object (exit 2), refused with the same words on the VM and the kernel engine — not an
 * EINVAL from one and a huge allocation in the other.
 *
 * The figures are Linux's on 64-bit with 4 KiB pages, confirmed against a 6.18 kernel with bpftool:
 * KMALLOC_MAX_SIZE is 4 MiB, PCPU_MIN_UNIT_SIZE 32 KiB, struct htab_elem 48 bytes, an LPM trie node
 * 24 bytes. max_entries has no limit of its own for arrays (memory is the limit: ENOMEM), so the VM
 * must not allocate what a program never touches.
 */
import type { MapSpec } from '../elf/spec.js';
import { MapType, nameOf } from '../uapi/types.js';

const KMALLOC_MAX_SIZE = 4 * 1024 * 1024;
const PCPU_MIN_UNIT_SIZE = 32 * 1024;
const HTAB_ELEM_SIZE = 48;
const INT_MAX = 0x7fffffff;
const U32_MAX = 0xffffffff;
/** LPM trie keys: a u32 prefix length plus 1..256 bytes of data (LPM_KEY_SIZE_MIN/MAX). */
const LPM_KEY_MIN = 4 + 1;
const LPM_KEY_MAX = 4 + 256;
const LPM_VALUE_MAX = KMALLOC_MAX_SIZE - 256 - 24;

const roundUp8 = (n: number) => Math.ceil(n / 8) * 8;

/** Why the kernel would refuse to create `m` (errno in the words), or undefined when it would not on size grounds. */
export function mapSizeFault(m: MapSpec): string | undefined {
  const type = nameOf(MapType, m.type);
  for (const [field, v] of [
    ['key_size', m.keySize],
    ['value_size', m.valueSize],
    ['max_entries', m.maxEntries],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > U32_MAX) return `${field} ${v} does not fit the kernel's u32 (EINVAL)`;
  }
  const invalid = (what: string) => `${what} for a ${type} map (the kernel's EINVAL)`;
  const tooBig = (what: string, limit: number) =>
    `${what} is larger than a ${type} map allows (${limit}; the kernel's E2BIG)`;
  const entries = () => (m.maxEntries === 0 ? invalid('max_entries 0') : undefined);
  const percpu =
    m.type === MapType.PERCPU_ARRAY || m.type === MapType.PERCPU_HASH || m.type === MapType.LRU_PERCPU_HASH;
  const percpuValue = () =>
    percpu && roundUp8(m.valueSize) > PCPU_MIN_UNIT_SIZE
      ? tooBig(`value_size ${m.valueSize}`, PCPU_MIN_UNIT_SIZE)
      : undefined;

  switch (m.type) {
    case MapType.ARRAY:
    case MapType.PERCPU_ARRAY:
      if (m.keySize !== 4) return invalid(`key_size ${m.keySize} (must be 4)`);
      if (m.valueSize === 0) return invalid('value_size 0');
      if (m.valueSize > INT_MAX) return tooBig(`value_size ${m.valueSize}`, INT_MAX);
      return entries() ?? percpuValue();
    case MapType.PROG_ARRAY:
    case MapType.ARRAY_OF_MAPS:
    case MapType.CGROUP_ARRAY:
      if (m.keySize !== 4 || m.valueSize !== 4)
        return invalid(`key_size ${m.keySize} and value_size ${m.valueSize} (both must be 4)`);
      return entries();
    case MapType.PERF_EVENT_ARRAY:
      // max_entries 0 is allowed here: loaders size the map to the number of CPUs.
      if (m.keySize !== 4 || m.valueSize !== 4)
        return invalid(`key_size ${m.keySize} and value_size ${m.valueSize} (both must be 4)`);
      return undefined;
    case MapType.HASH:
    case MapType.PERCPU_HASH:
    case MapType.LRU_HASH:
    case MapType.LRU_PERCPU_HASH:
    case MapType.HASH_OF_MAPS:
      if (m.keySize === 0 || m.valueSize === 0)
        return invalid(`key_size ${m.keySize}, value_size ${m.valueSize} (neither may be 0)`);
      if (m.type === MapType.HASH_OF_MAPS && m.valueSize !== 4) return invalid(`value_size ${m.valueSize} (must be 4)`);
      if (m.keySize + m.valueSize >= KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE) {
        return tooBig(`key_size + value_size ${m.keySize + m.valueSize}`, KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE - 1);
      }
      return entries() ?? percpuValue();
    case MapType.LPM_TRIE:
      if (m.keySize < LPM_KEY_MIN || m.keySize > LPM_KEY_MAX)
        return invalid(`key_size ${m.keySize} (must be ${LPM_KEY_MIN}..${LPM_KEY_MAX})`);
      if (m.valueSize === 0 || m.valueSize > LPM_VALUE_MAX)
        return invalid(`value_size ${m.valueSize} (must be 1..${LPM_VALUE_MAX})`);
      return entries();
    case MapType.QUEUE:
    case MapType.STACK:
      if (m.keySize !== 0) return invalid(`key_size ${m.keySize} (must be 0)`);
      if (m.valueSize === 0) return invalid('value_size 0');
      if (m.valueSize > KMALLOC_MAX_SIZE) return tooBig(`value_size ${m.valueSize}`, KMALLOC_MAX_SIZE);
      return entries();
    default:
      // Ring buffers (sized in bytes, not entries: each engine checks their shape) and types the VM does
      // not model (the kernel judges them itself; the VM refuses them by name).
      return undefined;
  }
}
