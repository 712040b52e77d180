/**
 * Kptrs of the program's own structs ("local kptrs", Linux 6.18): a `__kptr` field, of a map value or of
 * an allocated object, whose struct the kernel does not find by name in its BTF (btf_parse_kptr then takes
 * it as an object of bpf_obj_new). bpf_kptr_xchg stashes an owning reference there and gives back the one
 * that was (process_kptr_func, map_kptr_match_type, check_helper_call's MEM_ALLOC result); a load from a
 * map value gives a maybe-NULL MEM_ALLOC | MEM_RCU pointer (btf_ld_kptr_type: every local struct is RCU
 * protected, and the programs bpfkit models run in an RCU read section), non-owning when the struct is a
 * graph node, so that bpf_spin_unlock makes it unknown too.
 *
 * What bpfkit is not sure of is said to be not modelled: R1 other than a map value or an owning allocated
 * object, R2 maybe NULL (the kernel's words there are a "verifier bug"), R2 of another kind or at an
 * offset, `__kptr_untrusted` and `__percpu_kptr` of local structs, and an RCU section closed while such a
 * pointer is live. The kernel looks the name up in module BTFs as well, and compares the map's BTF object
 * with the program's; bpfkit reads vmlinux's and takes a map of the program's object to share its BTF.
 */
import { BtfKind } from '../btf/index.js';
import type { KernelField } from './btf-fields.js';
import { type Env, newId } from './env.js';
import { allocFields, allocPtr } from './graph.js';
import { Rejection } from './reject.js';
import { isConst } from './scalar.js';
import { tstr } from './tnum.js';
import { type Reg, type State, NOT_INIT, UNKNOWN_SCALAR, cur, forEachReg, kindText, ptrReg } from './state.js';

/** A local kptr's struct: its id in the program's BTF and its kernel-managed fields. */
interface LocalTarget {
  id: number;
  name: string;
  fields: readonly KernelField[];
}

/**
 * The program struct a `__kptr` field names when the kernel's BTF has no struct of that name; undefined
 * when the kernel's does (a kernel kptr, kptr-xchg.ts and map-fields.ts) or when bpfkit cannot tell.
 */
function localTarget(env: Env, f: KernelField): LocalTarget | string | undefined {
  if (f.what !== '__kptr' || !f.target || f.targetId === undefined) return undefined;
  if (!env.kernelBtf || env.kernelBtf.byName(f.target, BtfKind.STRUCT)) return undefined;
  const btf = env.progBtf;
  const t = btf?.types[f.targetId];
  if (!btf || !t || t.kind !== BtfKind.STRUCT || t.name !== f.target) return `struct ${f.target} of a kptr`;
  const fields = allocFields(btf, t.id, env.kernelBtf);
  if (typeof fields === 'string') return `struct ${t.name} with ${fields}`;
  return { id: t.id, name: t.name, fields };
}

/**
 * btf_ld_kptr_type for a local kptr loaded from a map value (check_map_kptr_access, a BPF_DW load at the
 * field): a fresh maybe-NULL id, no reference. Undefined when the field is no local kptr.
 */
export function localKptrLoad(env: Env, pc: number, f: KernelField): Reg | undefined {
  const target = localTarget(env, f);
  if (target === undefined) return undefined;
  const notModelled = (what: string) =>
    new Rejection(pc, `load of a __kptr field (${what}) at map value off ${f.off}: bpfkit does not model it`);
  if (typeof target === 'string') throw notModelled(target);
  if (env.sleepable) throw notModelled('a sleepable program');
  const node = target.fields.some((x) => x.what === 'struct bpf_list_node' || x.what === 'struct bpf_rb_node');
  const alloc = allocPtr(env.progBtf!, target.id, target.fields, node, true);
  return ptrReg('alloc', { alloc, nullable: true, id: newId(env) });
}

/**
 * bpf_kptr_xchg with R1 at a local kptr (a map value's or an owning allocated object's): R2 NULL or an
 * owning reference to the same struct, given up; r0 the old one, a new maybe-NULL owning reference.
 * Returns false when R1 is a map value whose field is no local kptr (kptr-xchg.ts goes on).
 */
export function localKptrXchg(env: Env, st: State, pc: number, notModelled: (why: string) => Rejection): boolean {
  const f = cur(st);
  const dst = f.regs[1]!;
  const src = f.regs[2]!;
  if (dst.kind !== 'alloc' && dst.kind !== 'map_value') return false;
  if (dst.nullable) throw notModelled(`R1 as ${kindText(dst)}`);
  let fields: readonly KernelField[];
  if (dst.kind === 'alloc') {
    const a = dst.alloc!;
    // kptr_types: PTR_TO_BTF_ID | MEM_ALLOC exactly, an owning reference.
    if (a.nonOwning || a.rcu || !dst.ref) throw notModelled(`R1 as ${kindText(dst)} without its own reference`);
    // check_func_arg_reg_off: a fixed offset is fine, a variable one is not.
    if (dst.off < 0) throw new Rejection(pc, `negative offset ${kindText(dst)} ptr R1 off=${dst.off} disallowed`);
    if (!isConst(dst.s) || dst.s.t.value !== 0n)
      throw new Rejection(pc, `variable ${kindText(dst)} access var_off=${tstr(dst.s.t)} disallowed`);
    fields = a.fields;
    if (!fields.some((x) => x.what.startsWith('__'))) throw new Rejection(pc, 'R1 has no valid kptr');
  } else {
    if (!isConst(dst.s)) return false;
    fields = dst.map?.kernelFields ?? [];
  }
  const off = dst.off + Number(dst.s.t.value);
  const field = fields.find((x) => x.what.startsWith('__') && x.off === off);
  if (dst.kind === 'alloc' && !field) throw new Rejection(pc, `off=${off} doesn't point to kptr`);
  const target = field && localTarget(env, field);
  if (target === undefined) {
    if (dst.kind === 'alloc') throw notModelled(`a ${field!.what} field of struct ${dst.alloc!.name}`);
    return false;
  }
  if (typeof target === 'string') throw notModelled(target);
  if (src.kind === 'not_init') throw new Rejection(pc, 'R2 !read_ok');
  let release = 0;
  if (src.kind === 'scalar' && isConst(src.s) && src.s.t.value === 0n) {
    env.precision?.mark(2);
  } else {
    if (src.kind !== 'alloc') throw notModelled(`R2 as ${kindText(src)} for a kptr of struct ${target.name}`);
    const a = src.alloc!;
    if (src.nullable) throw notModelled('R2 that may be NULL');
    if (a.nonOwning || a.rcu || !src.ref) throw notModelled(`R2 as ${kindText(src)} without its own reference`);
    if (src.off !== 0 || !isConst(src.s) || src.s.t.value !== 0n) throw notModelled('R2 at an offset into its struct');
    // map_kptr_match_type, strict for a referenced kptr: the same struct of the same BTF.
    if (a.id !== target.id)
      throw new Rejection(pc, `invalid kptr access, R2 type=${kindText(src)}${a.name} expected=ptr_${target.name}`);
    release = src.ref;
  }
  if (release) {
    st.refs.delete(release);
    forEachReg(st, (r) => (r.ref === release ? UNKNOWN_SCALAR : r));
  }
  for (let r = 1; r <= 5; r++) f.regs[r] = NOT_INIT;
  const ref = newId(env);
  st.refs.set(ref, pc);
  const alloc = allocPtr(env.progBtf!, target.id, target.fields, false);
  f.regs[0] = ptrReg('alloc', { alloc, nullable: true, id: ref, ref });
  return true;
}

/**
 * bpf_rcu_read_unlock makes MEM_RCU pointers untrusted; a loaded local kptr so changed is not modelled
 * (kfunc-sections.ts asks before the section closes). Returns the reason, or undefined.
 */
export function rcuUnlockUnmodelled(st: State): string | undefined {
  let live = false;
  forEachReg(st, (r) => {
    if (r.kind === 'alloc' && r.alloc?.rcu) live = true;
    return r;
  });
  return live
    ? 'bpf_rcu_read_unlock with an RCU pointer to an allocated object live: bpfkit does not model it'
    : undefined;
}
