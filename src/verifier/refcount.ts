/**
 * Refcounted allocated objects (Linux 6.18; verifier.c's KF_ARG_PTR_TO_REFCOUNTED_KPTR,
 * is_kfunc_ret_null, ref_set_non_owning) and the rule that one call instruction of bpf_obj_new,
 * bpf_obj_drop or bpf_refcount_acquire serves one type.
 *
 * A struct with a `struct bpf_refcount` member may be in a list and a tree at once. A non-owning
 * reference to it (after a push, or from bpf_rbtree_first) is MEM_RCU as well (graph.ts's allocPtr),
 * still made unknown by bpf_spin_unlock. bpf_refcount_acquire_impl (KF_ACQUIRE | KF_RET_NULL | KF_RCU)
 * takes an owning or non-owning reference (or a refcounted kptr loaded from a map value, local-kptr.ts)
 * at offset 0, never maybe-NULL, and gives a new owning reference to the struct at offset 0: never NULL
 * when the argument was an owning reference (the object cannot die meanwhile), else maybe NULL. It may be
 * called under the lock, as the graph kfuncs.
 *
 * The kernel keeps, per call instruction, the struct's btf_struct_meta (no meta for a struct without
 * kernel-managed fields) and, for bpf_obj_new, the size; a second type at the same instruction (two
 * calls merged by the compiler, or a static function called with two types) is refused. Pushes and adds
 * keep it too, where bpfkit does not know the words: not modelled.
 */
import type { Instruction } from '../isa/instruction.js';
import { BtfKind } from '../btf/index.js';
import type { Next } from './calls.js';
import { type Env, newId } from './env.js';
import { allocFields, allocPtr, graphKfuncCall, graphPrelude, isRefcounted } from './graph.js';
import type { Kfunc } from './kfunc.js';
import { Rejection } from './reject.js';
import { isConst } from './scalar.js';
import { tstr } from './tnum.js';
import { type Reg, type State, NOT_INIT, cur, kindText, ptrReg } from './state.js';

/** The kfunc this file models. */
const REFCOUNT_ACQUIRE = 'bpf_refcount_acquire_impl';

/** The type each call instruction was first seen with, per verification (the kernel's insn_aux_data). */
const seenTypes = new WeakMap<Env, Map<number, string>>();

/**
 * A graph kfunc's call (kfunc.ts hands over every kfunc graph.ts's modelsGraph names): bpf_refcount_acquire
 * here, the others in graph.ts; then the one-type-per-instruction rule on the arguments as they were.
 */
export function allocKfuncCall(env: Env, st: State, insn: Instruction, k: Kfunc): Next[] {
  const regs = cur(st).regs;
  const r1 = regs[1]!;
  const r2 = regs[2]!;
  const next = k.name === REFCOUNT_ACQUIRE ? refcountAcquire(env, st, insn, k) : graphKfuncCall(env, st, insn, k);
  sameCallType(env, insn.pc, k, r1, r2);
  return next;
}

/** bpf_refcount_acquire_impl(p, meta__ign): the checks of check_kfunc_args in their order, then r0. */
function refcountAcquire(env: Env, st: State, insn: Instruction, k: Kfunc): Next[] {
  const pc = insn.pc;
  const { btf, notModelled, inLess } = graphPrelude(env, st, pc, k);
  if (inLess) throw notModelled('a call inside the rbtree less callback');
  const regs = cur(st).regs;
  const p = regs[1]!;
  if (p.kind === 'not_init') throw new Rejection(pc, 'R1 !read_ok');
  // KF_RCU: neither NULL nor maybe NULL, before the argument's kind is looked at.
  if (p.nullable || (p.kind === 'scalar' && isConst(p.s) && p.s.t.value === 0n))
    throw new Rejection(pc, 'Possibly NULL pointer passed to trusted arg0');
  // (A number, a map value: checked against the running kernel; other kinds are not.)
  if (p.kind === 'map_value' || p.kind === 'scalar')
    throw new Rejection(pc, 'arg#0 is neither owning or non-owning ref');
  if (p.kind !== 'alloc') throw notModelled(`argument 0 as ${kindText(p)}`);
  // check_func_arg_reg_off: Linux 6.18 takes no fixed offset here, whatever the ownership.
  if (p.off < 0) throw new Rejection(pc, `negative offset ${kindText(p)} ptr R1 off=${p.off} disallowed`);
  if (p.off !== 0) throw new Rejection(pc, `dereference of modified ${kindText(p)} ptr R1 off=${p.off} disallowed`);
  if (!isConst(p.s) || p.s.t.value !== 0n)
    throw new Rejection(pc, `variable ${kindText(p)} access var_off=${tstr(p.s.t)} disallowed`);
  const a = p.alloc!;
  // A struct without a record is a kernel "verifier bug" message (with a warning): not judged.
  if (!a.fields.length) throw notModelled(`struct ${a.name} without kernel-managed fields`);
  if (!isRefcounted(a.fields)) throw new Rejection(pc, "arg#0 doesn't point to a type with bpf_refcount field");
  // is_kfunc_ret_null: an owning reference keeps the object alive, so the new one cannot fail.
  const owning = !a.nonOwning && p.ref !== 0;
  for (let r = 1; r <= 5; r++) regs[r] = NOT_INIT;
  const ref = newId(env);
  st.refs.set(ref, pc);
  regs[0] = ptrReg('alloc', { alloc: allocPtr(btf, a.id, a.fields, false), nullable: !owning, id: ref, ref });
  return [{ pc: pc + 1, st }];
}

/** The key the kernel compares: the struct's meta (none without fields) and, for bpf_obj_new, the size. */
function typeKey(env: Env, k: Kfunc, r1: Reg, r2: Reg): string | undefined {
  const meta = (r: Reg) => (r.alloc!.fields.length ? `meta ${r.alloc!.id}` : 'no meta');
  switch (k.name) {
    case 'bpf_obj_new_impl': {
      const t = env.progBtf?.types[Number(r1.s.t.value)];
      if (!t || t.kind !== BtfKind.STRUCT) return undefined;
      // (bpf_obj_new_impl has checked the struct: its fields are what allocFields read.)
      const fields = allocFields(env.progBtf!, t.id, env.kernelBtf);
      if (typeof fields === 'string') return undefined;
      return `${t.sizeOrType}/${fields.length ? `meta ${t.id}` : 'no meta'}`;
    }
    case 'bpf_obj_drop_impl':
    case REFCOUNT_ACQUIRE:
      return r1.kind === 'alloc' ? meta(r1) : undefined;
    case 'bpf_list_push_front_impl':
    case 'bpf_list_push_back_impl':
    case 'bpf_rbtree_add_impl':
      return r2.kind === 'alloc' ? `${meta(r2)}/${r2.off}` : undefined;
  }
  return undefined;
}

/** check_kfunc_call's per-instruction type: a second type at one call is refused (or, for pushes, not judged). */
function sameCallType(env: Env, pc: number, k: Kfunc, r1: Reg, r2: Reg): void {
  const key = typeKey(env, k, r1, r2);
  if (key === undefined) return;
  let seen = seenTypes.get(env);
  if (!seen) seenTypes.set(env, (seen = new Map()));
  const before = seen.get(pc);
  if (before === undefined) {
    seen.set(pc, key);
    return;
  }
  if (before === key) return;
  if (k.name.startsWith('bpf_list_') || k.name.startsWith('bpf_rbtree_'))
    throw new Rejection(pc, `kfunc ${k.name}: one call with two node types: bpfkit does not model it`);
  throw new Rejection(
    pc,
    'same call cannot be used with different types\n' +
      'use one call for each type: inline the static function that holds the call,\n' +
      'or mark the callee with __attribute__((nomerge))',
  );
}
