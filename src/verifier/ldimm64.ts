/**
 * The kernel's resolve_pseudo_ldimm64, the pass that turns every `lddw` naming a map into the map's
 * address before the walk: it looks at each `lddw` in program order, dead code's too, and refuses the
 * program (naming no instruction in its log) at the first one it cannot resolve. bpfkit says the same
 * words here, before the walk, so a fault in code the walk never reaches is found as the kernel finds it.
 */
import type { Instruction } from '../isa/instruction.js';
import {
  BPF_PSEUDO_BTF_ID,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_IDX,
  BPF_PSEUDO_MAP_IDX_VALUE,
  BPF_PSEUDO_MAP_VALUE,
} from '../isa/opcodes.js';
import { MapType } from '../uapi/types.js';
import { Rejection } from './reject.js';
import type { VerifierMap } from './state.js';

/** BPF_MAX_VAR_OFF: the largest offset (exclusive) a direct map value pointer may start at. */
const MAX_VAR_OFF = 1 << 29;

/**
 * The first check of resolve_pseudo_ldimm64 on one `lddw`, before its map is looked up: a pseudo kind
 * the kernel does not know, or a map pointer (`BPF_PSEUDO_MAP_FD`/`_IDX`) whose second half is not zero,
 * is "unrecognized".
 */
export function ldimm64KindFault(insn: Instruction): Rejection | undefined {
  const src = insn.src;
  if (src === 0 || src === BPF_PSEUDO_BTF_ID || src === BPF_PSEUDO_FUNC) return undefined;
  if (src === BPF_PSEUDO_MAP_VALUE || src === BPF_PSEUDO_MAP_IDX_VALUE) return undefined;
  if ((src === BPF_PSEUDO_MAP_FD || src === BPF_PSEUDO_MAP_IDX) && insn.imm2 === 0) return undefined;
  return new Rejection(insn.pc, 'unrecognized bpf_ld_imm64 insn');
}

/**
 * The map an `lddw` by fd names (add_used_map_from_fd), or the kernel's refusal when the number names
 * none.
 */
export function ldimm64Map(insn: Instruction, maps: ReadonlyMap<number, VerifierMap>): VerifierMap {
  const map = maps.get(insn.imm);
  if (!map) throw new Rejection(insn.pc, `fd ${insn.imm} is not pointing to valid bpf_map`);
  return map;
}

/**
 * A direct pointer into a map's value (`BPF_PSEUDO_MAP_VALUE`), checked after the map's compatibility
 * with the program: the offset (the second half, unsigned) below BPF_MAX_VAR_OFF, a map type that hands
 * out value addresses (an array's map_direct_value_addr; an arena's is not modelled and refused before),
 * and for an array one entry and an offset inside the value.
 */
export function ldimm64ValueFault(insn: Instruction, map: VerifierMap): Rejection | undefined {
  const off = insn.imm2 >>> 0;
  if (off >= MAX_VAR_OFF) return new Rejection(insn.pc, `direct value offset of ${off} is not allowed`);
  if (map.type !== MapType.ARRAY) return new Rejection(insn.pc, 'no direct value access support for this map type');
  if (map.maxEntries !== 1 || off >= map.valueSize)
    return new Rejection(insn.pc, `invalid access to map value pointer, value_size=${map.valueSize} off=${off}`);
  return undefined;
}
