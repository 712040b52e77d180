/**
 * A kfunc call naming no function (imm 0, off 0): what libbpf leaves for a weak kfunc the running kernel
 * lacks, to be guarded by bpf_ksym_exists. The kernel's first pass lets it through (add_kfunc_call), the walk
 * steps over it without touching a register (check_kfunc_call), dead code removal drops it where no path
 * reached it, and after the walk fixup_kfunc_call refuses the program when one is left.
 */
import type { Instruction } from '../isa/instruction.js';
import type { Env } from './env.js';
import { Rejection } from './reject.js';

/** The placeholder calls a walk of each program reached (env: one verification). */
const reached = new WeakMap<Env, Set<number>>();

/** Is `insn` a kfunc call naming nothing? Then the walk reached it: it is noted, and steps over it. */
export function kfuncPlaceholder(env: Env, insn: Instruction): boolean {
  if (insn.imm !== 0 || insn.off !== 0) return false;
  let pcs = reached.get(env);
  if (!pcs) reached.set(env, (pcs = new Set()));
  pcs.add(insn.pc);
  return true;
}

/** After the walk (do_misc_fixups): the refusal of a placeholder call some path reached, the first in program order. */
export function kfuncPlaceholderFault(env: Env): Rejection | undefined {
  const pcs = reached.get(env);
  if (!pcs?.size) return undefined;
  return new Rejection(Math.min(...pcs), 'invalid kernel function call not eliminated in verifier pass');
}
