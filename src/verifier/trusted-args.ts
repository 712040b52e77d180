/**
 * Global function arguments tagged `arg:trusted` (`__arg_trusted`), alone or with `arg:nullable`: a pointer
 * to a kernel struct (btf_prepare_func_args: ARG_PTR_TO_BTF_ID | PTR_TRUSTED, PTR_MAYBE_NULL when
 * nullable). The struct is the kernel's one type of the same kind and essential name as the program's
 * (btf_get_ptr_to_btf_id, by CO-RE candidates). The caller must pass a trusted register (Linux 6.18 asks
 * is_trusted_reg before check_reg_type, which 6.12 alone asked: RCU and plain pointers, the context, the
 * stack, scalars and maybe-NULL pointers are "must be referenced or trusted"; a constant NULL passes a
 * nullable argument) of that struct or one starting with it, at a known offset (btf_struct_ids_match);
 * the function starts with a trusted pointer of the struct, never NULL unless nullable.
 */
import { type Btf, BtfKind } from '../btf/index.js';
import { essentialName } from '../btf/core/access.js';
import { internBtfPtr } from './btf-ptr.js';
import type { Env } from './env.js';
import { structIdsMatch } from './kfunc.js';
import { Rejection } from './reject.js';
import { isConst } from './scalar.js';
import { type Reg, kindText, ptrReg } from './state.js';

/** A trusted argument as the prototype gives it: the program's struct (its essential name) and nullability. */
export interface TrustedArg {
  kind: 'trusted';
  /** The struct's name in the program's BTF (its essential name is looked up in the kernel's). */
  struct: string;
  nullable: boolean;
}

/**
 * The kernel struct of a trusted argument, or the kernel's words (the prototype's refusal) when it has no
 * single candidate. Without the kernel's BTF, not modelled.
 */
function kernelStruct(btf: Btf | undefined, pc: number, arg: TrustedArg, i: number): number | string {
  if (!btf)
    throw new Rejection(pc, `arg#${i} tagged 'arg:trusted': bpfkit checks it by the kernel's BTF, and none was given`);
  const ids = btf.idsNamed(essentialName(arg.struct)).filter((id) => btf.types[id]!.kind === BtfKind.STRUCT);
  if (ids.length === 1) return ids[0]!;
  return `arg#${i} reference type('STRUCT ${arg.struct}') ${ids.length === 0 ? 'has no matches' : 'is ambiguous'}`;
}

/**
 * btf_check_func_arg_match for a trusted argument in R`regno`: returns the kernel's refusal (to be followed
 * by "Caller passes invalid args"), or undefined when the register passes.
 */
export function trustedArgFault(env: Env, pc: number, regno: number, reg: Reg, arg: TrustedArg): string | undefined {
  const i = regno - 1;
  const btf = env.tpBtf?.btf ?? env.kernelBtf;
  const want = kernelStruct(btf, pc, arg, i);
  if (typeof want === 'string') return want;
  if (arg.nullable && reg.kind === 'scalar' && isConst(reg.s) && reg.s.t.value === 0n) return undefined;
  // Linux 6.18 asks is_trusted_reg first: referenced, or PTR_TRUSTED (MEM_ALLOC) with no other flag. A
  // reference bpfkit's model carries elsewhere, a maybe-NULL one, sockets (always trusted) and allocated
  // objects go on to checks bpfkit does not model here.
  if (reg.ref !== 0 || ['sock', 'sock_common', 'tcp_sock', 'alloc'].includes(reg.kind)) {
    if (reg.kind !== 'btf_id')
      throw new Rejection(pc, `R${regno} ${kindText(reg)} passed to a trusted argument: bpfkit does not model it`);
    // check_reg_type: a referenced pointer that may be NULL only for a nullable argument.
    if (reg.nullable && !arg.nullable) return `R${regno} type=${kindText(reg)} expected=ptr_, trusted_ptr_, rcu_ptr_`;
  } else if (reg.kind === 'btf_id' && reg.nullable && arg.nullable) {
    // A nullable argument takes a trusted pointer that may be NULL (one a nullable argument gave); what it
    // does with others that may be NULL is not modelled.
    if (reg.btf!.trust !== 'trusted')
      throw new Rejection(pc, `R${regno} ${kindText(reg)} passed to a nullable argument: bpfkit does not model it`);
  } else if (reg.kind !== 'btf_id' || reg.btf!.trust !== 'trusted' || reg.nullable)
    return `R${regno} must be referenced or trusted`;
  if (!isConst(reg.s) || reg.off < 0)
    throw new Rejection(
      pc,
      `R${regno} ${kindText(reg)}${reg.btf!.name} at this offset passed to a trusted argument: bpfkit does not model it`,
    );
  const m = structIdsMatch(btf!, reg.btf!.id, reg.off, want);
  if (m === 'unsure')
    throw new Rejection(pc, `whether struct ${reg.btf!.name} passes as ${arg.struct}: bpfkit does not model it`);
  if (!m) return `R${regno} is of type ${reg.btf!.name} but ${btf!.types[want]!.name} is expected`;
  return undefined;
}

/** The register a global function's walk starts with for a trusted argument (do_check_common). */
export function trustedEntryReg(env: Env, arg: TrustedArg, i: number, newId: () => number): Reg {
  const btf = env.tpBtf?.btf ?? env.kernelBtf;
  const want = kernelStruct(btf, env.entry, arg, i);
  if (typeof want === 'string') throw new Rejection(env.entry, want);
  // Every such register gets an id, whether it may be NULL or not.
  return ptrReg('btf_id', { btf: internBtfPtr(btf!, want, 'trusted'), nullable: arg.nullable, id: newId() });
}
