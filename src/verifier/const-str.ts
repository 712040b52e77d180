/**
 * ARG_PTR_TO_CONST_STR (bpf_strncmp's third argument): the verifier reads the string at load time, so it
 * must lie in a map the program cannot write and nobody can change any more, at a known offset, and end
 * within the map value (Linux 6.18's check_reg_const_str, after check_reg_type).
 */
import type { Env } from './env.js';
import { helperMem } from './memory.js';
import { Rejection } from './reject.js';
import { isConst } from './scalar.js';
import { kindText, type Reg, type State } from './state.js';

/**
 * Check register `regno` as a constant string argument. bpfkit knows a map's bytes only for a frozen
 * read-only array it was given the contents of (`frozenValue`, .rodata): a map flagged read-only for
 * the program but not known to be frozen is not modelled (bpf_map_is_rdonly also wants it frozen).
 */
export function constStrArg(env: Env, st: State, pc: number, regno: number, reg: Reg): void {
  // const_str_ptr_types: a map value, not NULL.
  if (reg.kind !== 'map_value' || reg.nullable)
    throw new Rejection(pc, `R${regno} type=${kindText(reg)} expected=map_value`);
  const map = reg.map!;
  if (!map.readOnly) throw new Rejection(pc, `R${regno} does not point to a readonly map'`);
  if (!map.frozenValue)
    throw new Rejection(
      pc,
      `R${regno} string in map ${map.name}: bpfkit does not know whether it is frozen or what it holds (not modelled)`,
    );
  if (!isConst(reg.s)) throw new Rejection(pc, `R${regno} is not a constant address'`);
  // check_map_access(reg->off, value_size - reg->off): the string may run to the value's end, from the
  // fixed offset (a constant variable part beyond zero overruns it, as in the kernel).
  const size = map.valueSize - reg.off;
  if (size <= 0)
    throw new Rejection(pc, `R${regno} string at map value off ${reg.off}: bpfkit does not model an empty range here`);
  helperMem(env, st, pc, regno, reg, size, false);
  const start = reg.off + Number(reg.s.t.value);
  if (!map.frozenValue.subarray(start, map.valueSize).includes(0))
    throw new Rejection(pc, 'string is not zero-terminated');
}
