/**
 * BPF_MAP_CREATE, BPF_MAP_FREEZE, and what the kernel says about map types (per CPU, keyless, holding
 * fds). The element and batch commands live in kernel-map.ts; their attr layouts in abi/bpf-attr.ts.
 */
import { errnoName } from './libc.js';
import { Cmd, bpfRaw, kernelError, withAttr, writeObjName } from './bpf-syscall.js';
import { NotSupportedError } from './errors.js';
import { MapType, nameOf } from '../uapi/types.js';
import { BPF_ATTR, setU32, setU64 } from './abi/index.js';

/** The fields of BPF_MAP_CREATE that bpfkit sets. */
export interface MapCreateRequest {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  innerMapFd?: number;
  /** The NUMA node to allocate on; the kernel reads it only with BPF_F_NUMA_NODE in `flags`. */
  numaNode?: number;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  /** struct_ops maps: the kernel BTF id of the value (`bpf_struct_ops_<name>`); needs btfFd, the object's BTF. */
  btfVmlinuxValueTypeId?: number;
  mapExtra?: bigint;
}

const MAP_CREATE = BPF_ATTR.map_create;

/** Create a map in the kernel (BPF_MAP_CREATE) and return its fd; retried without BTF when the kernel refuses it. */
export function createMap(req: MapCreateRequest): number {
  const f = MAP_CREATE.fields;
  const attempt = (withBtf: boolean) =>
    withAttr(MAP_CREATE.size, (a) => {
      const v = a.view;
      setU32(v, f.map_type, req.type);
      setU32(v, f.key_size, req.keySize);
      setU32(v, f.value_size, req.valueSize);
      setU32(v, f.max_entries, req.maxEntries);
      setU32(v, f.map_flags, req.flags ?? 0);
      setU32(v, f.inner_map_fd, req.innerMapFd ?? 0);
      setU32(v, f.numa_node, req.numaNode ?? 0);
      writeObjName(a.bytes, f.map_name, req.name);
      if (withBtf && req.btfFd) {
        setU32(v, f.btf_fd, req.btfFd);
        setU32(v, f.btf_key_type_id, req.btfKeyTypeId ?? 0);
        setU32(v, f.btf_value_type_id, req.btfValueTypeId ?? 0);
      }
      // Not optional like the type ids above: a struct_ops map is nothing without its kernel value type.
      if (req.btfVmlinuxValueTypeId) {
        setU32(v, f.btf_fd, req.btfFd ?? 0);
        setU32(v, f.btf_vmlinux_value_type_id, req.btfVmlinuxValueTypeId);
      }
      setU64(v, f.map_extra, req.mapExtra ?? 0n);
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
  const what = `creating map '${req.name}' (${nameOf(MapType, req.type)}, key ${req.keySize}, value ${req.valueSize}, max_entries ${req.maxEntries}, flags 0x${(req.flags ?? 0).toString(16)}${req.numaNode ? `, numa_node ${req.numaNode}` : ''})`;
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
  const r = withAttr(BPF_ATTR.map_elem.size, (a) => {
    setU32(a.view, BPF_ATTR.map_elem.fields.map_fd, fd);
    return bpfRaw(Cmd.MAP_FREEZE, a);
  });
  if (r < 0) throw kernelError(-r, `freezing map '${mapName}'`, 'BPF_MAP_FREEZE');
}

/** Map types whose values are per CPU in bpf(2) buffers. */
export function isPerCpu(type: number): boolean {
  return (
    type === MapType.PERCPU_HASH ||
    type === MapType.PERCPU_ARRAY ||
    type === MapType.LRU_PERCPU_HASH ||
    type === MapType.PERCPU_CGROUP_STORAGE
  );
}

/** Map types that have no keys (push/pop/peek). */
export function isQueueLike(type: number): boolean {
  return type === MapType.QUEUE || type === MapType.STACK;
}

/** Maps whose values are file descriptors on update (prog arrays, maps of maps...). */
export function holdsFds(type: number): boolean {
  return (
    type === MapType.PROG_ARRAY ||
    type === MapType.ARRAY_OF_MAPS ||
    type === MapType.HASH_OF_MAPS ||
    type === MapType.PERF_EVENT_ARRAY ||
    type === MapType.CGROUP_ARRAY
  );
}
