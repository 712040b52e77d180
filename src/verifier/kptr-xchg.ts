/**
 * bpf_kptr_xchg (helper 194, Linux 6.18's check_func_arg with process_kptr_func, map_kptr_match_type and
 * check_helper_call): R1 points, at a constant offset, to a referenced `__kptr` field of a map value; R2
 * is NULL or a referenced PTR_TO_BTF_ID of the field's kernel struct, which the call gives up (every copy
 * of it dies); R0 is the pointer that was there, a new reference, maybe NULL, to be released or put back.
 * What bpfkit is unsure of — R1 that is no map value (allocated objects), per-CPU kptrs and kptrs to the
 * program's own structs, R2 of other kinds or with an offset, untrusted R2, calls inside callbacks — is
 * said to be not modelled.
 */
import { BtfKind } from '../btf/index.js';
import { internBtfPtr } from './btf-ptr.js';
import { type Env, newId } from './env.js';
import { localKptrXchg } from './local-kptr.js';
import { Rejection } from './reject.js';
import { isConst } from './scalar.js';
import { NOT_INIT, type State, UNKNOWN_SCALAR, cur, forEachReg, kindText, ptrReg } from './state.js';

/** BPF_FUNC_kptr_xchg. */
export const KPTR_XCHG = 194;

/** Program types bpfkit knows get bpf_kptr_xchg from bpf_base_func_proto when no probe says otherwise. */
const BASE_TYPES: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 6, 7, 17, 26, 31]);

/**
 * The call at `pc`, after the lock check; `ptype` is the program type whose helper table applies (raw_tp
 * for tp_btf). Leaves the state after the call (r0 set, r1-r5 clobbered).
 */
export function kptrXchgCall(env: Env, st: State, pc: number, ptype: number): void {
  const notModelled = (why: string) =>
    new Rejection(pc, `helper bpf_kptr_xchg#${KPTR_XCHG}: bpfkit does not model ${why}`);
  const probed = env.helperAvailable?.(ptype, KPTR_XCHG);
  if (probed === false) throw new Rejection(pc, `program of this type cannot use helper bpf_kptr_xchg#${KPTR_XCHG}`);
  if (probed === undefined && !BASE_TYPES.has(ptype)) throw notModelled('its availability in this program type');
  // Which references a callback may take or give back is a rule of its own: not modelled.
  if (st.frames.some((fr) => fr.callback)) throw notModelled('a call inside a callback');
  const f = cur(st);
  const dst = f.regs[1]!;
  const src = f.regs[2]!;
  if (dst.kind === 'not_init') throw new Rejection(pc, 'R1 !read_ok');
  // A kptr of the program's own struct, in a map value or an allocated object (local-kptr.ts); not modelled
  // in a sleepable program, where only a kernel struct's kptr is (the exchange does not depend on in_rcu_cs:
  // R2 must be referenced, R0 is a new reference, checked against Linux 6.18 from a syscall program).
  if (env.sleepable && dst.kind === 'alloc') throw notModelled('a call in a sleepable program');
  if (!env.sleepable && localKptrXchg(env, st, pc, notModelled)) return;
  if (dst.kind !== 'map_value' || dst.nullable) throw notModelled(`R1 as ${kindText(dst)}`);
  // process_kptr_func: the kptr at a constant offset of a map whose BTF records it.
  if (!isConst(dst.s))
    throw new Rejection(pc, "R1 doesn't have constant offset. kptr has to be at the constant offset");
  const map = dst.map!;
  const fields = map.kernelFields ?? [];
  // A map without a kptr the kernel surely records is refused in words that depend on its BTF: not judged.
  const kptrs = fields.filter((x) => x.what.startsWith('__'));
  if (!kptrs.some((x) => ['__kptr', '__kptr_untrusted', '__percpu_kptr'].includes(x.what)))
    throw notModelled(`map '${map.name}' without a kptr bpfkit finds in its BTF`);
  const off = dst.off + Number(dst.s.t.value);
  const field = kptrs.find((x) => x.off === off);
  if (!field) throw new Rejection(pc, `off=${off} doesn't point to kptr`);
  if (field.what === '__kptr_untrusted') throw new Rejection(pc, `off=${off} kptr isn't referenced kptr`);
  const btf = env.kernelBtf;
  const target = field.what === '__kptr' && field.target ? btf?.byName(field.target, BtfKind.STRUCT) : undefined;
  if (!btf || !target) throw notModelled(`a ${field.what} field${field.target ? ` of struct ${field.target}` : ''}`);
  if (src.kind === 'not_init') throw new Rejection(pc, 'R2 !read_ok');
  let release = 0;
  if (src.kind === 'scalar' && isConst(src.s) && src.s.t.value === 0n) {
    // register_is_null: NULL is put in; the zero must stay exact for pruning.
    env.precision?.mark(2);
  } else {
    if (src.kind !== 'btf_id' || src.btf!.trust === 'untrusted') throw notModelled(`R2 as ${kindText(src)}`);
    if (src.off !== 0 || !isConst(src.s) || src.s.t.value !== 0n) throw notModelled('R2 at an offset into its struct');
    // check_reg_type: a released argument is never maybe-NULL.
    if (src.nullable) throw new Rejection(pc, 'Possibly NULL pointer passed to helper arg2');
    // map_kptr_match_type for a referenced kptr: the field's struct itself.
    if (src.btf!.id !== target.id)
      throw new Rejection(
        pc,
        `invalid kptr access, R2 type=${kindText(src)}${src.btf!.name} expected=ptr_${target.name}`,
      );
    if (!src.ref) throw new Rejection(pc, 'R2 must be referenced when passed to release function');
    release = src.ref;
  }
  if (release) {
    st.refs.delete(release);
    forEachReg(st, (r) => (r.ref === release ? UNKNOWN_SCALAR : r));
  }
  for (let r = 1; r <= 5; r++) f.regs[r] = NOT_INIT;
  // is_acquire_function: the old pointer is a new reference, its id also the NULL check's.
  const ref = newId(env);
  st.refs.set(ref, pc);
  f.regs[0] = ptrReg('btf_id', { btf: internBtfPtr(btf, target.id, ''), nullable: true, id: ref, ref });
}
