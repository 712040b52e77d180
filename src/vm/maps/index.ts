/**
 * Map factory: a MapSpec becomes the VM map class for its type. Types the VM does not model are refused
 * with the type's name, at load time.
 */
import type { MapSpec } from '../../elf/spec.js';
import { MapFlag, MapType, nameOf } from '../../uapi/types.js';
import { MapError } from '../../engine/errors.js';
import { ArrayMap } from './array.js';
import { HashMap } from './hash.js';
import { FdArrayMap, HashOfMaps, type HandleCheck } from './fd-array.js';
import { LpmTrieMap } from './lpm-trie.js';
import { QueueStackMap } from './queue-stack.js';
import { RingBufMap } from './ringbuf.js';
import { PerfEventArrayMap } from './perf-event-array.js';
import type { VmMap, MapOptions } from './base.js';

export { VmMap } from './base.js';
export { ArrayMap, HashMap, FdArrayMap, HashOfMaps, LpmTrieMap, QueueStackMap, RingBufMap, PerfEventArrayMap };
export type { PerfRecord } from './perf-event-array.js';

export interface MapFactoryOptions extends MapOptions {
  /** Does a handle name a program of the collection? (prog array updates) */
  isProgram: HandleCheck;
  /** Does a handle name a map of the collection? (map-in-map updates) */
  isMap: HandleCheck;
}

// BPF_F_ZERO_SEED, BPF_F_PRESERVE_ELEMS and BPF_F_INNER_MAP (src/uapi's MapFlag names only the others).
const ZERO_SEED = 1 << 6;
const PRESERVE_ELEMS = 1 << 11;
const INNER_MAP = 1 << 12;
const PROG_ACCESS = MapFlag.RDONLY_PROG | MapFlag.WRONLY_PROG;
const USER_ACCESS = MapFlag.RDONLY | MapFlag.WRONLY;
const HASH_FLAGS = MapFlag.NO_PREALLOC | MapFlag.NUMA_NODE | USER_ACCESS | PROG_ACCESS | ZERO_SEED;
const LRU_FLAGS = MapFlag.NO_COMMON_LRU | MapFlag.NUMA_NODE | USER_ACCESS | PROG_ACCESS | ZERO_SEED;

/**
 * The map_flags each map type's map_alloc_check accepts, as a 6.18 kernel answered BPF_MAP_CREATE for every
 * flag bit on every type the VM models (per-CPU maps take no NUMA node; fd arrays no program access flags).
 */
const ALLOWED_FLAGS: Record<number, number> = {
  [MapType.ARRAY]: MapFlag.NUMA_NODE | USER_ACCESS | PROG_ACCESS | MapFlag.MMAPABLE | INNER_MAP,
  [MapType.PERCPU_ARRAY]: USER_ACCESS | PROG_ACCESS,
  [MapType.HASH]: HASH_FLAGS,
  [MapType.HASH_OF_MAPS]: HASH_FLAGS,
  [MapType.PERCPU_HASH]: HASH_FLAGS & ~MapFlag.NUMA_NODE,
  [MapType.LRU_HASH]: LRU_FLAGS,
  [MapType.LRU_PERCPU_HASH]: LRU_FLAGS & ~MapFlag.NUMA_NODE,
  [MapType.PROG_ARRAY]: MapFlag.NUMA_NODE | USER_ACCESS,
  [MapType.ARRAY_OF_MAPS]: MapFlag.NUMA_NODE | USER_ACCESS,
  [MapType.LPM_TRIE]: MapFlag.NO_PREALLOC | MapFlag.NUMA_NODE | USER_ACCESS | PROG_ACCESS,
  [MapType.QUEUE]: MapFlag.NUMA_NODE | USER_ACCESS | PROG_ACCESS,
  [MapType.STACK]: MapFlag.NUMA_NODE | USER_ACCESS | PROG_ACCESS,
  [MapType.RINGBUF]: MapFlag.NUMA_NODE,
  [MapType.PERF_EVENT_ARRAY]: MapFlag.NUMA_NODE | USER_ACCESS | PRESERVE_ELEMS,
};

/**
 * Refuse map_flags the kernel would refuse for this map type (its EINVAL), and BPF_F_RDONLY / BPF_F_WRONLY,
 * which the kernel accepts but the VM does not model: they take write or read access away from userspace,
 * and a VM map that ignored them would let through the updates and lookups the kernel refuses (EPERM).
 */
function checkFlags(spec: MapSpec): void {
  const type = nameOf(MapType, spec.type);
  const fail = (detail: string): never => {
    throw new MapError('EINVAL', spec.name, 'create', detail);
  };
  const allowed = ALLOWED_FLAGS[spec.type];
  if (allowed === undefined) return; // a type the VM does not model: refused below, by name
  const extra = spec.flags & ~allowed;
  if (extra !== 0) fail(`map_flags 0x${(extra >>> 0).toString(16)} are not valid for a ${type} map`);
  if ((spec.flags & USER_ACCESS) === USER_ACCESS) fail('BPF_F_RDONLY and BPF_F_WRONLY exclude each other');
  if ((spec.flags & PROG_ACCESS) === PROG_ACCESS) fail('BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG exclude each other');
  if (spec.type === MapType.LPM_TRIE && !(spec.flags & MapFlag.NO_PREALLOC))
    fail('an lpm_trie map needs BPF_F_NO_PREALLOC in map_flags');
  if (spec.flags & USER_ACCESS)
    throw new MapError(
      'EOPNOTSUPP',
      spec.name,
      'create',
      `the VM does not model ${spec.flags & MapFlag.RDONLY ? 'BPF_F_RDONLY' : 'BPF_F_WRONLY'} (userspace access to the map); load it with the kernel engine`,
    );
}

/** The VM's address space is 32 bits (src/vm/memory.ts): storage larger than this can never be mapped. */
const ADDRESS_SPACE = 0x1_0000_0000;

/**
 * Refuse (ENOMEM, as the kernel's allocation would fail) a map whose preallocated storage the VM cannot
 * hold: an object's max_entries of 2^30 or a per-CPU map times a large --cpus would otherwise end in the
 * JavaScript engine's RangeError (exit 70) or an allocation of gigabytes.
 */
function checkStorage(spec: MapSpec, cpus: number): void {
  const perCpu =
    spec.type === MapType.PERCPU_ARRAY || spec.type === MapType.PERCPU_HASH || spec.type === MapType.LRU_PERCPU_HASH;
  const bytes =
    spec.type === MapType.RINGBUF
      ? 2 * spec.maxEntries // its data pages mapped twice (ringbuf.ts)
      : (Math.ceil(spec.valueSize / 8) * 8 * (perCpu ? cpus : 1) + spec.keySize) * spec.maxEntries;
  if (bytes >= ADDRESS_SPACE)
    throw new MapError(
      'ENOMEM',
      spec.name,
      'create',
      `its ${spec.maxEntries} entries${perCpu ? ` on ${cpus} CPUs` : ''} need ${bytes} bytes, more than the VM's 4 GiB address space`,
    );
}

/** Create the VM map for `spec`, refusing (MapError) what the kernel would refuse to create. */
export function createMap(spec: MapSpec, opts: MapFactoryOptions): VmMap {
  if (spec.maxEntries <= 0 && spec.type !== MapType.PERF_EVENT_ARRAY) {
    throw new MapError('EINVAL', spec.name, 'create', 'max_entries must be at least 1');
  }
  checkFlags(spec);
  checkStorage(spec, opts.cpus);
  const fixedKey = (size: number) => {
    if (spec.keySize !== size) {
      throw new MapError(
        'EINVAL',
        spec.name,
        'create',
        `a ${nameOf(MapType, spec.type)} map needs ${size}-byte keys, not ${spec.keySize}`,
      );
    }
  };
  switch (spec.type) {
    case MapType.ARRAY:
    case MapType.PERCPU_ARRAY:
      fixedKey(4);
      return new ArrayMap(spec, opts);
    case MapType.HASH:
    case MapType.PERCPU_HASH:
    case MapType.LRU_HASH:
    case MapType.LRU_PERCPU_HASH:
      return new HashMap(spec, opts);
    case MapType.PROG_ARRAY:
      fixedKey(4);
      return new FdArrayMap(spec, opts, opts.isProgram);
    case MapType.ARRAY_OF_MAPS:
      fixedKey(4);
      return new FdArrayMap(spec, opts, opts.isMap);
    case MapType.HASH_OF_MAPS:
      return new HashOfMaps(spec, opts, opts.isMap);
    case MapType.LPM_TRIE:
      return new LpmTrieMap(spec, opts);
    case MapType.QUEUE:
    case MapType.STACK:
      fixedKey(0);
      return new QueueStackMap(spec, opts);
    case MapType.RINGBUF:
      return new RingBufMap(spec, opts);
    case MapType.PERF_EVENT_ARRAY: {
      fixedKey(4);
      // libbpf sizes a perf event array with max_entries 0 to the number of CPUs.
      const s = spec.maxEntries > 0 ? spec : { ...spec, maxEntries: opts.cpus };
      return new PerfEventArrayMap(s, opts);
    }
    default:
      throw new MapError('EINVAL', spec.name, 'create', `the VM does not model ${nameOf(MapType, spec.type)} maps`);
  }
}
