/**
 * BPF_MAP_CREATE, BPF_MAP_FREEZE and the attr layouts of the element and batch commands.
 *
 * Element commands (LOOKUP/UPDATE/DELETE/GET_NEXT_KEY/LOOKUP_AND_DELETE), struct at offset 0:
 *   u32 map_fd @0, u64 key @8, u64 value|next_key @16, u64 flags @24          (32 bytes)
 * Batch commands (LOOKUP/LOOKUP_AND_DELETE/UPDATE/DELETE_BATCH):
 *   u64 in_batch @0, u64 out_batch @8, u64 keys @16, u64 values @24, u32 count @32, u32 map_fd @36,
 *   u64 elem_flags @40, u64 flags @48                                           (56 bytes)
 */
import { errnoName } from './libc.js';
import { Cmd, bpfRaw, kernelError, withAttr, writeObjName } from './bpf-syscall.js';
import { NotSupportedError } from './errors.js';
import { MapType, nameOf } from '../uapi/types.js';

export const ELEM_ATTR_SIZE = 32;
export const BATCH_ATTR_SIZE = 56;

/** The fields of BPF_MAP_CREATE that bpfkit sets. */
export interface MapCreateRequest {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  innerMapFd?: number;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  mapExtra?: bigint;
}

// BPF_MAP_CREATE part of union bpf_attr.
const MAP_CREATE_SIZE = 80;

/** Create a map in the kernel (BPF_MAP_CREATE) and return its fd; retried without BTF when the kernel refuses it. */
export function createMap(req: MapCreateRequest): number {
  const attempt = (withBtf: boolean) =>
    withAttr(MAP_CREATE_SIZE, (a) => {
      const v = a.view;
      v.setUint32(0, req.type, true);
      v.setUint32(4, req.keySize, true);
      v.setUint32(8, req.valueSize, true);
      v.setUint32(12, req.maxEntries, true);
      v.setUint32(16, req.flags ?? 0, true);
      v.setUint32(20, req.innerMapFd ?? 0, true);
      writeObjName(a, 28, req.name);
      if (withBtf && req.btfFd) {
        v.setUint32(48, req.btfFd, true);
        v.setUint32(52, req.btfKeyTypeId ?? 0, true);
        v.setUint32(56, req.btfValueTypeId ?? 0, true);
      }
      v.setBigUint64(64, req.mapExtra ?? 0n, true);
      return bpfRaw(Cmd.MAP_CREATE, a);
    });
  const hasBtf = !!(req.btfFd && (req.btfKeyTypeId || req.btfValueTypeId));
  let r = attempt(hasBtf);
  // BTF type info is optional for the maps we create: when the kernel disagrees with it, do without
  // (libbpf does the same).
  if (r < 0 && hasBtf && errnoName(-r) === 'EINVAL') r = attempt(false);
  if (r >= 0) return r;
  const code = -r;
  const name = errnoName(code);
  const what = `creating map '${req.name}' (${nameOf(MapType, req.type)}, key ${req.keySize}, value ${req.valueSize}, max_entries ${req.maxEntries}, flags 0x${(req.flags ?? 0).toString(16)})`;
  if (name === 'EINVAL' || name === 'EOPNOTSUPP' || name === 'ENOTSUPP') {
    if (!Object.values(MapType).includes(req.type as never) || req.type > MapType.ARENA) {
      throw new NotSupportedError(`map type ${nameOf(MapType, req.type)}`, name);
    }
    throw kernelError(code, what);
  }
  throw kernelError(code, what);
}

/** Make a map read-only for userspace (programs can still read it; .rodata after its contents are written). */
export function freezeMap(fd: number, mapName: string): void {
  const r = withAttr(8, (a) => {
    a.view.setUint32(0, fd, true);
    return bpfRaw(Cmd.MAP_FREEZE, a);
  });
  if (r < 0) throw kernelError(-r, `freezing map '${mapName}'`, 'BPF_MAP_FREEZE');
}

/** Map types whose values are per CPU in bpf(2) buffers. */
export function isPerCpu(type: number): boolean {
  return type === MapType.PERCPU_HASH || type === MapType.PERCPU_ARRAY || type === MapType.LRU_PERCPU_HASH || type === MapType.PERCPU_CGROUP_STORAGE;
}

/** Map types that have no keys (push/pop/peek). */
export function isQueueLike(type: number): boolean {
  return type === MapType.QUEUE || type === MapType.STACK;
}

/** Maps whose values are file descriptors on update (prog arrays, maps of maps...). */
export function holdsFds(type: number): boolean {
  return type === MapType.PROG_ARRAY || type === MapType.ARRAY_OF_MAPS || type === MapType.HASH_OF_MAPS || type === MapType.PERF_EVENT_ARRAY || type === MapType.CGROUP_ARRAY;
}
