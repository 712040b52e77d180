/**
 * Calls of kernel functions (kfuncs, BPF_PSEUDO_KFUNC_CALL): the instruction names the function by its id
 * in the kernel's BTF, which gives its name and prototype (verifier.c's fetch_kfunc_meta). Only the kfuncs
 * bpfkit has a model for are checked; every other kfunc call is refused as not modelled, naming it, because
 * what the kernel allows of a kfunc (its flags: acquire, release, trusted arguments...) is not in the BTF.
 */
import { type BtfType, BtfKind } from '../btf/index.js';
import type { Instruction } from '../isa/instruction.js';
import type { Next } from './calls.js';
import type { Env } from './env.js';
import { iterKfuncCall, modelsIter } from './iter-kfunc.js';
import { Rejection } from './reject.js';
import type { State } from './state.js';

/** A kfunc the call names: its BTF id, name and FUNC_PROTO in the kernel's BTF. */
export interface Kfunc {
  id: number;
  name: string;
  proto: BtfType;
}

/** The kfunc a call instruction names, from the kernel's BTF; a refusal when it names none. */
export function resolveKfunc(env: Env, insn: Instruction): Kfunc {
  const btf = env.kernelBtf;
  if (!btf)
    throw new Rejection(
      insn.pc,
      `kfunc call (btf_id ${insn.imm}): bpfkit checks kfunc calls by the kernel's BTF, and none was given (kernelBtf)`,
    );
  // A module's kfunc (off names a module BTF fd) has its id in that module's BTF, which bpfkit is not given.
  if (insn.off !== 0)
    throw new Rejection(insn.pc, `kfunc call (btf_id ${insn.imm}) into a module's BTF: bpfkit does not model it`);
  const func = btf.types[insn.imm];
  if (!func || func.kind !== BtfKind.FUNC) throw new Rejection(insn.pc, `kernel btf_id ${insn.imm} is not a function`);
  const proto = btf.types[func.sizeOrType];
  if (!proto || proto.kind !== BtfKind.FUNC_PROTO)
    throw new Rejection(insn.pc, `kernel function ${func.name} does not have a valid func_proto`);
  return { id: insn.imm, name: func.name, proto };
}

/** Execute a kfunc call. */
export function kfuncCall(env: Env, st: State, insn: Instruction): Next[] {
  const k = resolveKfunc(env, insn);
  if (modelsIter(k.name)) return iterKfuncCall(env, st, insn, k);
  void st;
  throw new Rejection(insn.pc, `kfunc ${k.name} (btf_id ${k.id}): bpfkit does not model this kernel function`);
}
