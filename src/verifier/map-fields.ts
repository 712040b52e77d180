/**
 * Loads and stores that touch a field the kernel manages inside a map value (Linux 6.18's check_map_access
 * and check_map_kptr_access): locks, timers and work items are never loaded or stored; a kptr (a
 * `__kptr`, `__kptr_untrusted` or `__percpu_kptr` pointer field) only as one whole, aligned BPF_DW at a
 * constant offset, never through a helper's memory argument, and a referenced one never stored to. What
 * bpfkit does not follow — loading a kptr (its pointer type), storing a pointer into an untrusted kptr,
 * fields it is unsure the kernel records for a map value — is said to be not modelled.
 */
import type { Env } from './env.js';
import { Rejection } from './reject.js';
import { isConst } from './scalar.js';
import type { KernelField } from './btf-fields.js';
import type { Reg } from './state.js';

/** How an access reaches the field: a load, a register store, an immediate store, an atomic, a helper. */
export type FieldAccess = 'ldx' | 'stx' | 'st' | 'atomic' | 'helper';

/**
 * btf_field_type_name for the fields bpfkit knows the kernel records in a map value and refuses to touch
 * (checked against the running kernel); other non-kptr fields are not judged.
 */
const UNTOUCHABLE: ReadonlyMap<string, string> = new Map([
  ['struct bpf_spin_lock', 'bpf_spin_lock'],
  ['struct bpf_timer', 'bpf_timer'],
]);

/** The kptr kinds the kernel recognises by the pointer's first type tag (btf_find_kptr). */
const KPTRS: ReadonlySet<string> = new Set(['__kptr', '__kptr_untrusted', '__percpu_kptr']);

/**
 * check_map_access's loop over the value's fields for an access of `size` bytes at `reg + off`
 * (register `regno`), then check_map_kptr_access for a kptr met exactly. `how` says how the instruction
 * (or helper) reaches the memory and `value` is what a store writes. Fields are taken in offset order, as
 * the kernel sorts its record; the first that refuses the access decides.
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
): void {
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
  if (kptr) kptrAccess(env, pc, kptr, how, value, valueRegno);
}

/** check_map_kptr_access: what may be done with a kptr field reached whole, at its offset. */
function kptrAccess(
  env: Env,
  pc: number,
  f: KernelField,
  how: FieldAccess,
  value: Reg | undefined,
  valueRegno: number | undefined,
): void {
  if (how === 'atomic') throw new Rejection(pc, 'kptr in map can only be accessed using BPF_MEM instruction mode');
  if (how !== 'ldx' && f.what !== '__kptr_untrusted') throw new Rejection(pc, 'store to referenced kptr disallowed');
  if (how === 'ldx')
    throw new Rejection(pc, `load of a ${f.what} field at map value off ${f.off}: bpfkit does not model kptr loads`);
  if (how === 'st') {
    const imm = value && isConst(value.s) ? value.s.t.value : 1n;
    if (imm !== 0n) throw new Rejection(pc, `BPF_ST imm must be 0 when storing to kptr at off=${f.off}`);
    return;
  }
  // A known zero may be stored: it must stay exact, so another scalar is not pruned against this state.
  if (value?.kind === 'scalar' && isConst(value.s) && value.s.t.value === 0n) {
    if (valueRegno !== undefined) env.precision?.mark(valueRegno);
    return;
  }
  // map_kptr_match_type: a pointer of the field's type, or anything else refused in words bpfkit does not
  // build yet.
  throw new Rejection(pc, `store into a ${f.what} field at map value off ${f.off}: bpfkit does not model it`);
}
