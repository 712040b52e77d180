/**
 * Map factory: a MapSpec becomes the VM map class for its type. Types the VM does not model are refused
 * with the type's name, at load time.
 */
import type { MapSpec } from '../../elf/spec.js';
import { MapType, nameOf } from '../../uapi/types.js';
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

export function createMap(spec: MapSpec, opts: MapFactoryOptions): VmMap {
  if (spec.maxEntries <= 0 && spec.type !== MapType.PERF_EVENT_ARRAY) {
    throw new MapError('EINVAL', spec.name, 'create', 'max_entries must be at least 1');
  }
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
