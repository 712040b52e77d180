/**
 * Helpers that take or return kernel objects by BTF id (PTR_TO_BTF_ID): the socket casts bpf_skc_to_*,
 * the local storage helpers keyed by a task, a cgroup or a socket, bpf_sk_release and the socket storage
 * helpers given a BTF socket, and memory arguments given a trusted BTF pointer (the memory read through
 * the struct walk). The rules are verifier.c's check_reg_type (the register types each argument type
 * takes, then btf_struct_ids_match against the argument's struct) and check_func_arg_reg_off; what r0
 * is comes from check_helper_call (RET_PTR_TO_BTF_ID_OR_NULL: a plain pointer that may be NULL; a cast
 * carries its argument's reference, is_ptr_cast_function).
 */
import { type Btf, BtfKind } from '../btf/index.js';
import { btfAccess, internBtfPtr } from './btf-ptr.js';
import { type Env, newId } from './env.js';
import type { HelperProto } from './helpers.js';
import { structIdsMatch } from './kfunc.js';
import { sleepSafeReg } from './sleepable-calls.js';
import { Rejection } from './reject.js';
import { isConst } from './scalar.js';
import { type Reg, type State, kindText, ptrReg } from './state.js';

/** btf_ptr_types: the register types an ARG_PTR_TO_BTF_ID takes, as the kernel lists them. */
const BTF_PTR_TYPES = 'ptr_, trusted_ptr_, rcu_ptr_';
/** btf_id_sock_common_types (ARG_PTR_TO_BTF_ID_SOCK_COMMON). */
const BTF_SOCK_TYPES = 'sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_';

/** The BTF the program's kernel objects are typed by: a tp_btf target's, or the kernel's given. */
function objBtf(env: Env, pc: number, what: string, reg?: Reg | 'return'): Btf {
  const btf = env.tpBtf?.btf ?? env.kernelBtf;
  if (!btf) throw new Rejection(pc, `${what}: bpfkit checks kernel objects by the kernel's BTF, and none was given`);
  // Outside an RCU read section (sleepable programs) which pointers stay usable differs: only an argument
  // whose trust does not depend on it is modelled there (sleepable-calls.ts). A helper's returned pointer
  // is typed by its prototype alone (check_helper_call sets no RCU flag on it), so it is modelled.
  if (env.sleepable && reg !== 'return' && !(reg && sleepSafeReg(reg)))
    throw new Rejection(pc, `${what} in a sleepable program: bpfkit does not model it`);
  return btf;
}

const isNull = (r: Reg): boolean => r.kind === 'scalar' && isConst(r.s) && r.s.t.value === 0n;

/**
 * btf_struct_ids_match (not strict) of a BTF pointer against struct `want`, refused in the kernel's words
 * when it does not match (a negative offset never does: the walk finds nothing there); a variable offset
 * is not modelled.
 */
function matchStruct(btf: Btf, pc: number, regno: number, reg: Reg, want: string, helper: string): void {
  const p = reg.btf!;
  if (!isConst(reg.s))
    throw new Rejection(pc, `R${regno} ptr_${p.name} at this offset passed to bpf_${helper}: bpfkit does not model it`);
  if (reg.off < 0) throw new Rejection(pc, `R${regno} is of type ${p.name} but ${want} is expected`);
  const w = btf.byName(want, BtfKind.STRUCT);
  if (!w) throw new Rejection(pc, `bpf_${helper}: bpfkit finds no struct ${want} in the kernel's BTF`);
  const m = structIdsMatch(btf, p.id, reg.off, w.id);
  if (m === 'unsure')
    throw new Rejection(pc, `bpf_${helper}: whether struct ${p.name} passes as ${want}: bpfkit does not model it`);
  if (!m) throw new Rejection(pc, `R${regno} is of type ${p.name} but ${want} is expected`);
}

/**
 * An ARG_PTR_TO_BTF_ID argument of struct `want` (OR_NULL: NULL, or a pointer that may be NULL, passes
 * too): a plain, trusted or RCU BTF pointer, never an untrusted one, pointing to that struct or to one
 * that starts with it.
 */
export function btfObjArg(
  env: Env,
  pc: number,
  regno: number,
  reg: Reg,
  want: string,
  orNull: boolean,
  helper: string,
): void {
  if (orNull && isNull(reg)) return;
  const btf = objBtf(env, pc, `bpf_${helper}`, reg);
  const trustOk = reg.kind === 'btf_id' && reg.btf!.trust !== 'untrusted';
  if (!trustOk || (reg.nullable && !orNull))
    throw new Rejection(pc, `R${regno} type=${kindText(reg)} expected=${BTF_PTR_TYPES}`);
  matchStruct(btf, pc, regno, reg, want, helper);
}

/**
 * A BTF pointer given to an ARG_PTR_TO_BTF_ID_SOCK_COMMON argument (bpf_skc_to_*, bpf_sk_release, the
 * socket storage helpers of socket programs): plain or trusted, not NULL (`orNull`: maybe NULL), a struct
 * that starts with struct sock_common; bpf_sk_release's must carry a reference at offset 0. Returns the
 * reference.
 */
export function btfSockArg(
  env: Env,
  st: State,
  pc: number,
  regno: number,
  reg: Reg,
  release: boolean,
  helper: string,
  orNull = false,
): number {
  const btf = objBtf(env, pc, `bpf_${helper}`);
  const t = reg.btf!.trust;
  if ((reg.nullable && !orNull) || (t !== '' && t !== 'trusted'))
    throw new Rejection(pc, `R${regno} type=${kindText(reg)} expected=${BTF_SOCK_TYPES}`);
  matchStruct(btf, pc, regno, reg, 'sock_common', helper);
  if (release) {
    if (reg.off !== 0)
      throw new Rejection(pc, `R${regno} must have zero offset when passed to release func or trusted arg to kfunc`);
    if (!reg.ref) throw new Rejection(pc, `R${regno} must be referenced when passed to release function`);
    // Which references a callback may give back is a rule of its own (sock-ptr.ts): not modelled.
    if (st.frames.some((f) => f.callback))
      throw new Rejection(pc, 'a socket reference released inside a callback: bpfkit does not model it');
  }
  return reg.ref;
}

/**
 * A BTF pointer given to a memory argument (mem_types lists PTR_TO_BTF_ID | PTR_TRUSTED): a trusted one
 * the helper only reads (MEM_RDONLY); one it writes is refused in the kernel's words. Its size is checked
 * by btfMemSize.
 */
export function btfMemArg(
  env: Env,
  pc: number,
  regno: number,
  reg: Reg,
  memTypes: string,
  helper: string,
  write: boolean,
  orNull: boolean,
): void {
  objBtf(env, pc, `bpf_${helper}`);
  // A NULL-able argument folds PTR_MAYBE_NULL away: what the helper reads of a maybe-NULL BTF pointer is
  // not modelled.
  if (orNull && reg.nullable)
    throw new Rejection(pc, `R${regno} ${kindText(reg)} passed to bpf_${helper}: bpfkit does not model it`);
  if (reg.btf!.trust !== 'trusted' || reg.nullable)
    throw new Rejection(pc, `R${regno} type=${kindText(reg)} expected=${memTypes}`);
  if (write)
    throw new Rejection(pc, `bpf_${helper}() may write into memory pointed by R${regno} type=${kindText(reg)}`);
  // check_func_arg_reg_off (after check_reg_type): a trusted BTF pointer may carry a fixed offset, not a
  // negative one (a variable one never gets here: calls.ts says it is not modelled).
  if (reg.off < 0) throw new Rejection(pc, `negative offset ${kindText(reg)} ptr R${regno} off=${reg.off} disallowed`);
}

/**
 * check_helper_mem_access of a BTF pointer: `size` bytes read at the pointer's offset, checked as a load
 * of that size is (check_ptr_to_btf_access, the struct walk). A size that may be zero is not modelled.
 */
export function btfMemSize(env: Env, pc: number, regno: number, reg: Reg, size: bigint, helper: string): void {
  const btf = objBtf(env, pc, `bpf_${helper}`);
  if (size === 0n)
    throw new Rejection(pc, `bpf_${helper}: a zero-sized read of a BTF pointer: bpfkit does not model it`);
  btfAccess(btf, env.gplCompatible, pc, regno, reg, 0, Number(size), false, false, !!env.tpBtf?.iter);
}

/**
 * r0 of a helper returning RET_PTR_TO_BTF_ID(_OR_NULL) of its struct (bpf_skc_to_*, bpf_task_pt_regs): a
 * plain pointer; one that may be NULL has a fresh id for its null check; it carries `ref` (a cast's
 * argument's reference).
 */
export function btfObjReturn(env: Env, pc: number, proto: HelperProto, ref: number): Reg {
  const btf = objBtf(env, pc, `bpf_${proto.name}`, 'return');
  const name = proto.retStruct!;
  const t = btf.byName(name, BtfKind.STRUCT);
  if (!t) throw new Rejection(pc, `bpf_${proto.name}: bpfkit finds no struct ${name} in the kernel's BTF`);
  const p = internBtfPtr(btf, t.id, '');
  if (proto.ret === 'btf_obj') return ptrReg('btf_id', { btf: p, ref });
  return ptrReg('btf_id', { btf: p, nullable: true, id: newId(env), ref });
}

/**
 * ARG_PTR_TO_PERCPU_BTF_ID (bpf_per_cpu_ptr, bpf_this_cpu_ptr): only a percpu BTF pointer (MEM_PERCPU: a
 * percpu ksym, a `__percpu_kptr`, a walk through a `__percpu`-tagged field, bpf_percpu_obj_new) passes
 * check_reg_type. bpfkit has none of these (ksyms.ts leaves variables not modelled; type-tagged fields,
 * percpu kptr loads and percpu allocations are not modelled), so every register it can hold here, BTF
 * pointers of any trust and allocated objects included, is refused in the kernel's words. (A model of
 * percpu objects must let them through here.)
 */
export function percpuArg(pc: number, regno: number, reg: Reg): never {
  throw new Rejection(pc, `R${regno} type=${kindText(reg)} expected=percpu_ptr_, percpu_rcu_ptr_, percpu_trusted_ptr_`);
}
