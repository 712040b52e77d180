/**
 * Loads and stores that touch a field the kernel manages inside a map value (Linux 6.18's check_map_access
 * and check_map_kptr_access): locks, timers and work items are never loaded or stored; a kptr (a
 * `__kptr`, `__kptr_untrusted` or `__percpu_kptr` pointer field) only as one whole, aligned BPF_DW at a
 * constant offset, never through a helper's memory argument, and a referenced one never stored to; a load
 * gives a maybe-NULL BTF pointer of the kptr's kernel struct. What bpfkit does not follow — storing a
 * pointer into an untrusted kptr, kptrs to the program's own structs, fields it is unsure the kernel
 * records for a map value — is said to be not modelled.
 */
import { BtfKind } from '../btf/index.js';
import { internBtfPtr } from './btf-ptr.js';
import { type Env, newId } from './env.js';
import { localKptrLoad } from './local-kptr.js';
import { Rejection } from './reject.js';
import { isConst } from './scalar.js';
import type { KernelField } from './btf-fields.js';
import { type Reg, kindText, ptrReg } from './state.js';
import { tstr } from './tnum.js';

/** How an access reaches the field: a load, a register store, an immediate store, an atomic, a helper. */
export type FieldAccess = 'ldx' | 'stx' | 'st' | 'atomic' | 'helper';

/**
 * btf_field_type_name for the fields bpfkit knows the kernel records in a map value and refuses to touch
 * (checked against the running kernel); other non-kptr fields are not judged.
 */
const UNTOUCHABLE: ReadonlyMap<string, string> = new Map([
  ['struct bpf_spin_lock', 'bpf_spin_lock'],
  ['struct bpf_timer', 'bpf_timer'],
  ['struct bpf_wq', 'bpf_wq'],
]);

/** The kptr kinds the kernel recognises by the pointer's first type tag (btf_find_kptr). */
const KPTRS: ReadonlySet<string> = new Set(['__kptr', '__kptr_untrusted', '__percpu_kptr']);

/**
 * check_map_access's loop over the value's fields for an access of `size` bytes at `reg + off`
 * (register `regno`), then check_map_kptr_access for a kptr met exactly. `how` says how the instruction
 * (or helper) reaches the memory and `value` is what a store writes. Fields are taken in offset order, as
 * the kernel sorts its record; the first that refuses the access decides. `inRcuCs` is the kernel's
 * in_rcu_cs (sleepable-calls.ts).
 */
export function mapFieldAccess(
  env: Env,
  pc: number,
  regno: number,
  reg: Reg,
  off: number,
  size: number,
  how: FieldAccess,
  value: Reg | undefined,
  valueRegno: number | undefined,
  inRcuCs = true,
): Reg | undefined {
  const fields = reg.map?.kernelFields;
  if (!fields?.length) return;
  const lo = Number(reg.s.smin) + off;
  const hi = Number(reg.s.umax) + off + size;
  const met = fields.filter((x) => lo < x.off + x.size && x.off < hi).sort((a, b) => a.off - b.off);
  let kptr: KernelField | undefined;
  for (const f of met) {
    const name = UNTOUCHABLE.get(f.what);
    if (name) throw new Rejection(pc, `${name} cannot be accessed directly by load/store`);
    if (!KPTRS.has(f.what))
      throw new Rejection(
        pc,
        `R${regno} access to ${f.what} at map value off ${f.off}: bpfkit does not model this kernel-managed field of a map value`,
      );
    if (how === 'helper') throw new Rejection(pc, 'kptr cannot be accessed indirectly by helper');
    if (!isConst(reg.s)) throw new Rejection(pc, 'kptr access cannot have variable offset');
    const at = off + Number(reg.s.t.value);
    if (f.off !== at) throw new Rejection(pc, `kptr access misaligned expected=${f.off} off=${at}`);
    if (size !== 8) throw new Rejection(pc, 'kptr access size must be BPF_DW');
    kptr = f;
  }
  return kptr && kptrAccess(env, pc, kptr, how, value, valueRegno, inRcuCs);
}

/** check_map_kptr_access: what may be done with a kptr field reached whole, at its offset. */
function kptrAccess(
  env: Env,
  pc: number,
  f: KernelField,
  how: FieldAccess,
  value: Reg | undefined,
  valueRegno: number | undefined,
  inRcuCs: boolean,
): Reg | undefined {
  if (how === 'atomic') throw new Rejection(pc, 'kptr in map can only be accessed using BPF_MEM instruction mode');
  if (how !== 'ldx' && f.what !== '__kptr_untrusted') throw new Rejection(pc, 'store to referenced kptr disallowed');
  if (how === 'ldx') return kptrLoad(env, pc, f, inRcuCs);
  if (how === 'st') {
    const imm = value && isConst(value.s) ? value.s.t.value : 1n;
    if (imm !== 0n) throw new Rejection(pc, `BPF_ST imm must be 0 when storing to kptr at off=${f.off}`);
    return undefined;
  }
  // A known zero may be stored: it must stay exact, so another scalar is not pruned against this state.
  if (value?.kind === 'scalar' && isConst(value.s) && value.s.t.value === 0n) {
    if (valueRegno !== undefined) env.precision?.mark(valueRegno);
    return undefined;
  }
  return kptrMatchType(env, pc, f, value, valueRegno);
}

/**
 * map_kptr_match_type, for an untrusted kptr (a referenced one is refused before): a kernel BTF pointer of
 * the field's struct, at offset 0, whatever its trust, is stored; a scalar is refused in the kernel's
 * words. A pointer of another struct (which the kernel may still match through a first member), one with
 * an offset, and every other pointer kind are not modelled.
 */
function kptrMatchType(
  env: Env,
  pc: number,
  f: KernelField,
  value: Reg | undefined,
  valueRegno: number | undefined,
): undefined {
  const target = f.target ? env.kernelBtf?.byName(f.target, BtfKind.STRUCT) : undefined;
  if (value?.kind === 'scalar' && target && valueRegno !== undefined)
    throw new Rejection(
      pc,
      `invalid kptr access, R${valueRegno} type=scalar expected=ptr_${target.name} or untrusted_ptr_${target.name}`,
    );
  // map_kptr_match_type: a kernel BTF pointer whose flags the field takes (NULL-able, trusted, RCU; and
  // untrusted in a __kptr_untrusted field) has its offset checked before its type: a fixed one may be
  // there, not a negative or a variable one (__check_ptr_off_reg).
  const flagsOk =
    value?.kind === 'btf_id' &&
    f.what !== '__percpu_kptr' &&
    (value.btf?.trust !== 'untrusted' || f.what === '__kptr_untrusted');
  if (flagsOk && valueRegno !== undefined) {
    if (value.off < 0)
      throw new Rejection(pc, `negative offset ${kindText(value)} ptr R${valueRegno} off=${value.off} disallowed`);
    if (!isConst(value.s) || value.s.t.value !== 0n)
      throw new Rejection(pc, `variable ${kindText(value)} access var_off=${tstr(value.s.t)} disallowed`);
  }
  const exact =
    value?.kind === 'btf_id' &&
    value.btf?.id === target?.id &&
    value.off === 0 &&
    isConst(value.s) &&
    value.s.t.value === 0n;
  if (!target || !exact)
    throw new Rejection(pc, `store into a ${f.what} field at map value off ${f.off}: bpfkit does not model it`);
  return undefined;
}

/**
 * Kernel structs a referenced kptr of which loads as MEM_RCU in an RCU read section (rcu_protected_types,
 * checked against Linux 6.18 for task_struct); any other loads untrusted.
 */
const RCU_PROTECTED: ReadonlySet<string> = new Set([
  'prog_test_ref_kfunc',
  'cgroup',
  'bpf_cpumask',
  'task_struct',
  'bpf_crypto_ctx',
]);

/**
 * btf_ld_kptr_type: a kptr loads as a maybe-NULL PTR_TO_BTF_ID of its kernel struct (a fresh id for the
 * NULL check): untrusted for `__kptr_untrusted`, MEM_RCU for a referenced kptr of an RCU-protected struct
 * (every program bpfkit models outside the sleepable ones runs in an RCU read section). Outside an RCU read
 * section (`inRcuCs` false: a sleepable program holding no section) every kernel struct's kptr loads
 * untrusted (checked against Linux 6.18 from a syscall program: test/verifier/kfunc-grammar.test.ts).
 * Inside one (bpf_rcu_read_lock) a sleepable program's kptrs load as any program's. Structs that are the
 * program's own (allocated objects) or a module's and per-CPU kptrs are not modelled.
 */
function kptrLoad(env: Env, pc: number, f: KernelField, inRcuCs: boolean): Reg {
  // A kptr of the program's own struct (local-kptr.ts).
  const local = localKptrLoad(env, pc, f);
  if (local) return local;
  const btf = env.kernelBtf;
  const t = f.target ? btf?.byName(f.target, BtfKind.STRUCT) : undefined;
  const outside = !inRcuCs;
  const trust =
    f.what === '__kptr_untrusted' || (outside && f.what === '__kptr')
      ? 'untrusted'
      : f.what === '__kptr'
        ? 'rcu'
        : undefined;
  if (!btf || !t || !trust || (trust === 'rcu' && !RCU_PROTECTED.has(t.name)))
    throw new Rejection(
      pc,
      `load of a ${f.what} field${f.target ? ` (struct ${f.target})` : ''} at map value off ${f.off}: bpfkit does not model it`,
    );
  return ptrReg('btf_id', { btf: internBtfPtr(btf, t.id, trust), nullable: true, id: newId(env) });
}
