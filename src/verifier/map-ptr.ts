/**
 * Loads through a map pointer (CONST_PTR_TO_MAP, check_ptr_to_map_access): a privileged program may read
 * the kernel's struct behind a map (struct bpf_array for the arrays, bpf_htab for the hashes ...), whose
 * first member is struct bpf_map, walked by the kernel's BTF as a BTF pointer's struct is (btf-ptr.ts).
 * Checked on Linux 6.18 (test/verifier/hook-helpers.test.ts): a pointer member read gives an untrusted
 * pointer, a scalar member a scalar; a negative offset or any store is refused in the struct's name.
 */
import { BtfKind } from '../btf/index.js';
import { MapType } from '../uapi/types.js';
import { btfAccess, internBtfPtr } from './btf-ptr.js';
import type { Env } from './env.js';
import { Rejection } from './reject.js';
import { ptrReg, type Reg } from './state.js';

/**
 * The map types whose kernel struct (bpf_map_ops.map_btf_id) bpfkit knows, and that struct's name: each
 * checked on the running kernel (the maps of maps and the LPM trie, not checked, are not modelled).
 */
const MAP_STRUCT: ReadonlyMap<number, string> = new Map([
  [MapType.HASH, 'bpf_htab'],
  [MapType.PERCPU_HASH, 'bpf_htab'],
  [MapType.LRU_HASH, 'bpf_htab'],
  [MapType.LRU_PERCPU_HASH, 'bpf_htab'],
  [MapType.ARRAY, 'bpf_array'],
  [MapType.PERCPU_ARRAY, 'bpf_array'],
  [MapType.PROG_ARRAY, 'bpf_array'],
  [MapType.PERF_EVENT_ARRAY, 'bpf_array'],
  [MapType.CGROUP_ARRAY, 'bpf_array'],
  [MapType.RINGBUF, 'bpf_ringbuf_map'],
  [MapType.QUEUE, 'bpf_queue_stack'],
  [MapType.STACK, 'bpf_queue_stack'],
  [MapType.BLOOM_FILTER, 'bpf_bloom_filter'],
]);

/**
 * A load (or store, refused) of `size` bytes at `off` through map pointer `reg` (register `regno`). Without
 * the kernel's BTF, or for a map type whose struct bpfkit does not know, the access is not modelled.
 */
export function mapPtrAccess(
  env: Env,
  pc: number,
  regno: number,
  reg: Reg,
  off: number,
  size: number,
  write: boolean,
  signed: boolean,
): Reg {
  const type = reg.map!.type;
  const name = MAP_STRUCT.get(type);
  const btf = env.kernelBtf;
  const struct = name && btf ? btf.byName(name, BtfKind.STRUCT) : undefined;
  if (!name || !btf || !struct)
    throw new Rejection(
      pc,
      `R${regno} map_ptr access: bpfkit does not model the kernel struct of map type ${type}${btf ? '' : ' without the kernel BTF'}`,
    );
  // Map pointers take no arithmetic (adjust_ptr_min_max_vals), so the instruction's offset is all.
  const total = reg.off + off;
  if (total < 0) throw new Rejection(pc, `R${regno} is ${name} invalid negative access: off=${total}`);
  if (write) throw new Rejection(pc, `only read from ${name} is supported`);
  // The walk itself is btf_struct_access on a plain pointer to the struct; unlike a BTF pointer's access
  // there is no GPL check on the map's struct.
  const base = ptrReg('btf_id', { btf: internBtfPtr(btf, struct.id, '') });
  return btfAccess(btf, true, pc, regno, base, off, size, false, signed);
}
