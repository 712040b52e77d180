/**
 * Calls of kernel functions (kfuncs, BPF_PSEUDO_KFUNC_CALL): the instruction names the function by its id
 * in the kernel's BTF, which gives its name and prototype (verifier.c's fetch_kfunc_meta). What the BTF
 * does not say (the function's flags: acquire, release, trusted arguments...; which program types may
 * call it) bpfkit knows for the kfuncs of kfunc-table.ts only; every other kfunc call is refused as not
 * modelled, naming it.
 *
 * A modelled call is checked as check_kfunc_call does: the program type's kfunc sets, the arguments by
 * the prototype (check_kfunc_args: scalars, `__k` constants, pointers to kernel structs as PTR_TO_BTF_ID
 * with the trusted / RCU rules, the release argument), the RCU and preemption sections
 * (kfunc-sections.ts), the reference released, r1-r5 clobbered and r0 from the return type (a scalar,
 * nothing, or a PTR_TO_BTF_ID that may be NULL and may carry a new reference).
 */
import { type Btf, type BtfType, BtfKind } from '../btf/index.js';
import type { Instruction } from '../isa/instruction.js';
import { ProgType } from '../uapi/types.js';
import { internBtfPtr, skipMods } from './btf-ptr.js';
import type { Next } from './calls.js';
import { type Env, newId } from './env.js';
import { isSectionKfunc, sectionCall } from './kfunc-sections.js';
import { sleepableKfuncUnmodelled } from './sleepable-calls.js';
import {
  KFUNCS,
  KF_ACQUIRE,
  KF_RCU,
  KF_RELEASE,
  KF_RET_NULL,
  KF_SLEEPABLE,
  KF_TRUSTED_ARGS,
  kfuncSetAllowed,
} from './kfunc-table.js';
import { dynptrKfuncCall, modelsDynptrKfunc } from './dynptr-kfunc.js';
import { iterKfuncCall, modelsIter } from './iter-kfunc.js';
import { THROW_KFUNC, throwCall } from './throw.js';
import { modelsGraph } from './graph.js';
import { allocKfuncCall } from './refcount.js';
import { modelsNetKfunc, netKfuncCall } from './nfct.js';
import { Rejection } from './reject.js';
import { helperMem } from './memory.js';
import { isConst } from './scalar.js';
import {
  type Reg,
  type State,
  NOT_INIT,
  UNKNOWN_SCALAR,
  cur,
  forEachReg,
  isPointer,
  kindText,
  ptrReg,
} from './state.js';

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
    throw new Rejection(insn.pc, `kernel function btf_id ${insn.imm} does not have a valid func_proto`);
  return { id: insn.imm, name: func.name, proto };
}

/** The XDP metadata kfuncs (bpf_dev_bound_kfunc_id): only a device-bound program may call them. */
const DEV_BOUND_KFUNCS: ReadonlySet<string> = new Set([
  'bpf_xdp_metadata_rx_timestamp',
  'bpf_xdp_metadata_rx_hash',
  'bpf_xdp_metadata_rx_vlan_tag',
]);

/**
 * add_kfunc_call, before the walk, for every kfunc call instruction in order, dead code's too: a
 * GPL-compatible license, then the callee (in the kernel's BTF) a function with a prototype, then no
 * metadata kfunc (bpfkit's programs are never device-bound). Returns the first refusal, if any. A call
 * with id 0 waits for dead code elimination, as the kernel's does; a module's kfunc and a program given
 * no kernel BTF are left to the walk, which says they are not modelled.
 */
export function kfuncCallFault(
  insns: readonly Instruction[],
  gpl: boolean,
  btf: Btf | undefined,
): Rejection | undefined {
  for (const insn of insns) {
    if (insn.code !== 0x85 || insn.src !== 2) continue;
    if (!gpl) return new Rejection(insn.pc, 'cannot call kernel function from non-GPL compatible program');
    // find_kfunc_desc_btf: a negative module BTF index ("negative offset disallowed ...") has no BTF.
    if (insn.off < 0) return new Rejection(insn.pc, 'failed to find BTF for kernel function');
    if ((insn.imm === 0 && insn.off === 0) || insn.off !== 0 || !btf) continue;
    const func = btf.types[insn.imm];
    if (!func || func.kind !== BtfKind.FUNC)
      return new Rejection(insn.pc, `kernel btf_id ${insn.imm} is not a function`);
    const proto = btf.types[func.sizeOrType];
    if (!proto || proto.kind !== BtfKind.FUNC_PROTO)
      return new Rejection(insn.pc, `kernel function btf_id ${insn.imm} does not have a valid func_proto`);
    if (DEV_BOUND_KFUNCS.has(func.name)) return new Rejection(insn.pc, 'metadata kfuncs require device-bound program');
  }
  return undefined;
}

/** A struct or a union (btf_type_is_struct). */
export const isStructKind = (t: BtfType | undefined): boolean =>
  !!t && (t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION);
/** btf_type_is_scalar for the kinds bpfkit is sure of (ints and 32-bit enums). */
export const isScalarKind = (t: BtfType | undefined): boolean =>
  !!t && (t.kind === BtfKind.INT || t.kind === BtfKind.ENUM);

/**
 * __btf_type_is_scalar_struct: a struct of scalars, arrays of scalars and such structs (three levels at
 * most). 'unsure' where bpfkit's notion of a scalar may differ from the kernel's (enum64, floats).
 */
export function scalarStruct(btf: Btf, t: BtfType, rec: number): 'yes' | 'no' | 'unsure' {
  if (!isStructKind(t)) return 'no';
  let out: 'yes' | 'unsure' = 'yes';
  for (const m of t.members) {
    let mt = skipMods(btf, m.type).t;
    if (isStructKind(mt)) {
      if (rec >= 3) return 'no';
      const inner = scalarStruct(btf, mt!, rec + 1);
      if (inner === 'no') return 'no';
      if (inner === 'unsure') out = 'unsure';
      continue;
    }
    if (mt?.kind === BtfKind.ARRAY) {
      if (!mt.array!.nelems) return 'no';
      mt = skipMods(btf, mt.array!.type).t;
    }
    if (isScalarKind(mt)) continue;
    if (mt?.kind === BtfKind.ENUM64 || mt?.kind === BtfKind.FLOAT) out = 'unsure';
    else return 'no';
  }
  return out;
}

/** btf_type_str: the kind's name as the kernel's messages print it. */
const kindName = (t: BtfType): string => (t.kind === BtfKind.UNION ? 'UNION' : 'STRUCT');

/**
 * The struct member that starts at `off` in struct `id` (btf_struct_walk for one byte, as
 * btf_struct_ids_match calls it): the outermost one, descending through the structs that contain the
 * offset. false where a scalar (or nothing) lies there; 'unsure' where the walk meets a union, an array or
 * the struct's end, which bpfkit does not follow.
 */
function structAt(btf: Btf, id: number, off: number): number | false | 'unsure' {
  for (let depth = 0; depth < 32; depth++) {
    const t = btf.types[id];
    // Past the end the kernel may walk into a flexible array, which bpfkit does not follow.
    if (!t || t.kind !== BtfKind.STRUCT || off >= t.sizeOrType) return 'unsure';
    const m = t.members.find((x) => {
      const moff = Math.floor(x.offset / 8);
      // A bitfield (x.size bits, with kind_flag) covers the bytes its bits touch.
      const bytes = x.size ? Math.ceil(((x.offset % 8) + x.size) / 8) : Math.max(btf.sizeOf(x.type), 1);
      return moff <= off && off < moff + bytes;
    });
    if (!m || m.size) return false;
    const next = skipMods(btf, m.type);
    // An array of scalars (or pointers) holds no struct; of anything else the kernel walks the elements.
    if (next.t?.kind === BtfKind.ARRAY) {
      const elem = skipMods(btf, next.t.array!.type).t;
      return isScalarKind(elem) || elem?.kind === BtfKind.PTR ? false : 'unsure';
    }
    if (next.t?.kind === BtfKind.UNION) return 'unsure';
    if (next.t?.kind !== BtfKind.STRUCT) return false;
    if (off === m.offset / 8) return next.id;
    off -= m.offset / 8;
    id = next.id;
  }
  return 'unsure';
}

const EMBEDDED = new WeakMap<Btf, Map<number, ReadonlySet<number>>>();

/** The ids of the types embedded in type `id` at any depth (members, unions, array elements; not pointees). */
function embeddedTypes(btf: Btf, id: number): ReadonlySet<number> {
  let byId = EMBEDDED.get(btf);
  if (!byId) EMBEDDED.set(btf, (byId = new Map()));
  const known = byId.get(id);
  if (known) return known;
  const seen = new Set<number>();
  const todo = [id];
  while (todo.length) {
    const t = skipMods(btf, todo.pop()!);
    if (!t.t || seen.has(t.id)) continue;
    seen.add(t.id);
    if (t.t.kind === BtfKind.ARRAY) todo.push(t.t.array!.type);
    else if (t.t.kind === BtfKind.STRUCT || t.t.kind === BtfKind.UNION) for (const m of t.t.members) todo.push(m.type);
  }
  byId.set(id, seen);
  return seen;
}

/**
 * May a pointer `off` bytes into struct `from` be passed as a pointer to struct `want`
 * (btf_struct_ids_match, not strict)? At offset 0 `from` itself does; otherwise the struct member that
 * starts there, or the one that starts that member, and so on.
 */
export function structIdsMatch(btf: Btf, from: number, off: number, want: number): boolean | 'unsure' {
  if (off === 0 && from === want) return true;
  // Whatever btf_struct_walk finds is a type embedded in `from` (through members, unions and arrays, not
  // pointers): a struct `from` does not embed anywhere never matches, unions and arrays on the way or not.
  if (!embeddedTypes(btf, from).has(want)) return false;
  // Whatever the walk finds at `off` lies inside `from`: a struct bigger than what is left of it never
  // matches (so a union on the way need not be followed to know).
  const fromSize = btf.types[from]?.sizeOrType ?? 0;
  const wantSize = btf.types[want]?.sizeOrType ?? 0;
  if (off >= 0 && off < fromSize && wantSize > fromSize - off) return false;
  let id = from;
  for (let depth = 0; depth < 32; depth++) {
    const next = structAt(btf, id, off);
    if (next === false || next === 'unsure') return next;
    if (next === want) return true;
    id = next;
    off = 0;
  }
  return 'unsure';
}

/**
 * The kernel's context struct of a program type (get_kern_ctx_btf_id, from bpf_types.h), each checked on
 * Linux 6.18 by a load past its end.
 */
function kernCtxName(progType: number): string | undefined {
  switch (progType) {
    case ProgType.SOCKET_FILTER:
    case ProgType.SCHED_CLS:
    case ProgType.SCHED_ACT:
    case ProgType.CGROUP_SKB:
    case ProgType.LWT_IN:
    case ProgType.LWT_OUT:
    case ProgType.LWT_XMIT:
    case ProgType.SK_SKB:
      return 'sk_buff';
    case ProgType.XDP:
      return 'xdp_buff';
    case ProgType.KPROBE:
      return 'pt_regs';
    case ProgType.PERF_EVENT:
      return 'bpf_perf_event_data_kern';
    case ProgType.CGROUP_SOCK:
      return 'sock';
    case ProgType.SOCK_OPS:
      return 'bpf_sock_ops_kern';
    case ProgType.CGROUP_DEVICE:
      return 'bpf_cgroup_dev_ctx';
    case ProgType.SK_MSG:
      return 'sk_msg';
    case ProgType.CGROUP_SOCK_ADDR:
      return 'bpf_sock_addr_kern';
    case ProgType.SK_REUSEPORT:
      return 'sk_reuseport_kern';
    case 23: // cgroup_sysctl
      return 'bpf_sysctl_kern';
    case 25: // cgroup_sockopt
      return 'bpf_sockopt_kern';
    case 30: // sk_lookup
      return 'bpf_sk_lookup_kern';
    // tracepoint and raw_tracepoint: a u64, which the kernel refuses ("kern ctx type id N is not a struct").
    default:
      return undefined;
  }
}

const isNullConst = (r: Reg): boolean => r.kind === 'scalar' && isConst(r.s) && r.s.t.value === 0n;

/** Execute a kfunc call. */
export function kfuncCall(env: Env, st: State, insn: Instruction): Next[] {
  const k = resolveKfunc(env, insn);
  // Open-coded iterators have a model of their own (iter-kfunc.ts).
  if (modelsIter(k.name)) return iterKfuncCall(env, st, insn, k);
  // bpf_throw ends the program (throw.ts).
  if (k.name === THROW_KFUNC) return throwCall(env, st, insn);
  // So have dynptrs of packets and the bpf_dynptr_* kfuncs (dynptr-kfunc.ts).
  if (modelsDynptrKfunc(k.name)) return dynptrKfuncCall(env, st, insn, k);
  // Allocated objects, lists and rbtrees too (graph.ts; refcounted objects and one type per call: refcount.ts).
  if (modelsGraph(k.name)) return allocKfuncCall(env, st, insn, k);
  // And conntrack and bpf_sock_destroy (nfct.ts).
  if (modelsNetKfunc(k.name)) return netKfuncCall(env, st, insn, k);
  const pc = insn.pc;
  const btf = env.kernelBtf!;
  // Every reason names what bpfkit does not model (the walk reports such refusals as not modelled).
  const notModelled = (what = 'this kernel function') =>
    new Rejection(pc, `kfunc ${k.name} (btf_id ${k.id}): bpfkit does not model ${what}`);
  const facts = KFUNCS.get(k.name);
  if (!facts) throw notModelled();
  // A sleepable program runs outside an RCU read section: what bpfkit models there (sleepable-calls.ts).
  const sleepWhy = env.sleepable
    ? sleepableKfuncUnmodelled(cur(st).regs.slice(1, 1 + k.proto.members.length))
    : undefined;
  if (sleepWhy) throw notModelled(sleepWhy);
  // fetch_kfunc_meta: the kfunc must be in a set registered for the program's type.
  if (!kfuncSetAllowed(facts.set, env.progType))
    throw new Rejection(pc, `calling kernel function ${k.name} is not allowed`);
  // Under a spin lock the kernel allows only some kfuncs, a list bpfkit does not carry.
  if (st.lock) throw notModelled('a kfunc call under a bpf_spin_lock');
  const flags = facts.flags;
  // check_kfunc_call, before the arguments: a sleepable kfunc needs a sleepable program (a timer's
  // callback never is: in_sleepable per state, as for helpers).
  const sleepable = (flags & KF_SLEEPABLE) !== 0;
  if (sleepable && !(env.sleepable && !st.frames.some((x) => x.async)))
    throw new Rejection(pc, `program must be sleepable to call sleepable kfunc ${k.name}`);
  const release = (flags & KF_RELEASE) !== 0;
  const trustedArgs = (flags & (KF_TRUSTED_ARGS | KF_RELEASE | KF_RCU)) !== 0;
  // In a callback (bpf_loop, bpf_for_each_map_elem) a kfunc's references and sections belong to the whole
  // path, as in the main program: Linux 6.18 checks none of them at the callback's return, a leak or an
  // open section is refused at the main program's exit, and the path that skips the callback meets an
  // unmatched unlock (checked against the kernel in test/verifier/kfunc-grammar.test.ts).
  const f = cur(st);
  let releaseReg = 0;
  let constArg: bigint | undefined;
  let kernCtx: number | undefined;
  const params = k.proto.members;
  if (params.length > 5) throw notModelled('more than five arguments');
  /** The size argument of a memory, size pair, checked with its memory (check_kfunc_args skips it). */
  let sizeArg = -1;
  params.forEach((param, i) => {
    const regno = i + 1;
    const reg = f.regs[regno]!;
    if (param.name.endsWith('__ign') || i === sizeArg) return;
    const { t } = skipMods(btf, param.type);
    if (isScalarKind(t)) {
      if (reg.kind !== 'scalar') throw new Rejection(pc, `R${regno} is not a scalar`);
      if (/(__szk?|_buf_size)$/.test(param.name)) throw notModelled(`a size argument (${param.name})`);
      if (param.name.endsWith('__k')) {
        if (!isConst(reg.s)) throw new Rejection(pc, `R${regno} must be a known constant`);
        env.precision?.mark(regno);
        constArg = reg.s.t.value;
      }
      return;
    }
    if (!t || t.kind !== BtfKind.PTR) throw notModelled(`argument ${i} of this kind`);
    if (/__(nullable|opt|sz|szk|str|map|uninit|refcounted_kptr|alloc)$/.test(param.name))
      throw notModelled(`argument ${param.name}`);
    const size = params[i + 1];
    const memSize = reg.kind !== 'btf_id' && !!size && /__szk?$/.test(size.name);
    // A memory, size pair's NULL (or maybe-NULL) memory: Linux 6.18 does not refuse it as a trusted
    // argument's (checked with bpf_sock_addr_set_sun_path), and bpfkit does not model what it does.
    if (memSize && (isNullConst(reg) || (isPointer(reg) && reg.nullable)))
      throw notModelled(`argument ${i}: NULL memory`);
    // check_kfunc_args: a trusted or RCU argument is never NULL.
    if (trustedArgs && (isNullConst(reg) || (isPointer(reg) && reg.nullable)))
      throw new Rejection(pc, `Possibly NULL pointer passed to trusted arg${i}`);
    if (reg.ref && release) releaseReg = regno;
    const target = skipMods(btf, t.sizeOrType);
    if (k.name === 'bpf_cast_to_kern_ctx') {
      kernCtx = kernCtxArg(env, pc, regno, reg, i, notModelled);
      return;
    }
    // get_kfunc_ptr_arg_type: sockets and maps pass as their kernel structs (reg2btf_ids).
    if (['sock', 'sock_common', 'tcp_sock', 'map_ptr'].includes(reg.kind))
      throw notModelled(`argument ${i} as ${kindText(reg)}`);
    if (memSize) {
      memSizeArg(env, st, pc, regno, reg, i, target, notModelled);
      sizeArg = i + 1;
      return;
    }
    if (reg.kind !== 'btf_id') {
      if (!isStructKind(target.t)) throw notModelled(`argument ${i} as ${kindText(reg)}`);
      // Any other register is checked as memory, which must be a struct of scalars.
      if (scalarStruct(btf, target.t!, 0) !== 'no') throw notModelled(`argument ${i} as memory`);
      throw new Rejection(
        pc,
        `arg#${i} pointer type ${kindName(target.t!)} ${target.t!.name} must point to scalar, or struct with scalar`,
      );
    }
    if (!isStructKind(target.t)) throw notModelled(`argument ${i} of a pointer to a non-struct`);
    btfIdArg(btf, pc, regno, reg, i, k.name, flags, target.id, target.t!, notModelled);
  });
  if (release && !releaseReg)
    throw new Rejection(pc, `release kernel function ${k.name} expects refcounted PTR_TO_BTF_ID`);

  if (isSectionKfunc(k.name)) sectionCall(btf, st, pc, k.name);
  // After the arguments: no sleepable kfunc inside an RCU read section or with preemption disabled.
  if (sleepable && st.rcu) throw new Rejection(pc, `kernel func ${k.name} is sleepable within rcu_read_lock region`);
  if (sleepable && st.preempt)
    throw new Rejection(pc, `kernel func ${k.name} is sleepable within non-preemptible region`);

  if (releaseReg) {
    const ref = f.regs[releaseReg]!.ref;
    st.refs.delete(ref);
    forEachReg(st, (r) => (r.ref === ref ? UNKNOWN_SCALAR : r));
  }
  for (let r = 1; r <= 5; r++) f.regs[r] = NOT_INIT;
  f.regs[0] = returnReg(env, st, pc, k, flags, constArg, kernCtx, notModelled);
  return [{ pc: pc + 1, st }];
}

/**
 * A pointer argument given as a PTR_TO_BTF_ID (check_kfunc_args, KF_ARG_PTR_TO_BTF_ID): trusted or RCU as
 * the flags ask, at offset 0 when released, and pointing to the struct the prototype names, or to one
 * that starts with it (process_kf_arg_ptr_to_btf_id).
 */
export function btfIdArg(
  btf: Btf,
  pc: number,
  regno: number,
  reg: Reg,
  i: number,
  name: string,
  flags: number,
  want: number,
  wantType: BtfType,
  notModelled: (why: string) => Rejection,
): void {
  const p = reg.btf!;
  // Without trusted flags (the struct_ops congestion-control kfuncs, kfunc-table.ts) only a trusted,
  // never NULL pointer is modelled: what else the kernel lets such an argument be is not.
  if (!(flags & (KF_TRUSTED_ARGS | KF_RELEASE | KF_RCU)) && (p.trust !== 'trusted' || reg.nullable))
    throw notModelled(`argument ${i} without trusted flags`);
  // is_trusted_reg: a referenced pointer, or a PTR_TRUSTED one.
  if (!reg.ref && p.trust !== 'trusted') {
    if (!(flags & KF_RCU)) throw new Rejection(pc, `R${regno} must be referenced or trusted`);
    if (p.trust !== 'rcu') throw new Rejection(pc, `R${regno} must be a rcu pointer`);
  }
  // btf_type_ids_nocast_alias: X and X___init never pass as each other (nf_conn, nf_conn___init).
  const alias = p.name !== wantType.name && [p.name, wantType.name].some((n, j, a) => n === `${a[1 - j]}___init`);
  const strict = ((flags & KF_RELEASE) !== 0 && reg.ref !== 0) || alias;
  // check_func_arg_reg_off: a released pointer is the object itself.
  if (strict && reg.off !== 0)
    throw new Rejection(pc, `R${regno} must have zero offset when passed to release func or trusted arg to kfunc`);
  // check_func_arg_reg_off (__check_ptr_off_reg with a fixed offset allowed): not a negative one, nor a
  // variable one (calls.ts stops those before, as not modelled).
  if (reg.off < 0) throw new Rejection(pc, `negative offset ${kindText(reg)} ptr R${regno} off=${reg.off} disallowed`);
  if (!isConst(reg.s)) throw notModelled(`argument ${i} at a variable offset into its struct`);
  const match = strict ? p.id === want : structIdsMatch(btf, p.id, reg.off, want);
  if (match === 'unsure') throw notModelled(`whether struct ${p.name} passes as ${wantType.name} (argument ${i})`);
  if (!match)
    throw new Rejection(
      pc,
      `kernel function ${name} args#${i} expected pointer to ${kindName(wantType)} ${wantType.name} but R${regno} has a pointer to ${kindName(btf.types[p.id]!)} ${p.name}`,
    );
}

/**
 * A memory, size pair (KF_ARG_PTR_TO_MEM_SIZE: the next parameter is named `*__sz`, or `*__szk` for a
 * constant): the memory must point to void, a scalar or a struct of scalars; the size is checked as a
 * helper's (check_mem_size_reg, zero allowed) and the memory is read then written through
 * (check_kfunc_mem_size_reg). A refusal there is followed by the kernel's line naming the pair. Only
 * known sizes are modelled (so `__szk`'s demand of a constant always holds).
 */
export function memSizeArg(
  env: Env,
  st: State,
  pc: number,
  regno: number,
  reg: Reg,
  i: number,
  target: { id: number; t: BtfType | undefined },
  notModelled: (why: string) => Rejection,
): void {
  const t = target.t;
  if (target.id !== 0 && !isScalarKind(t)) {
    const scalars = t && isStructKind(t) ? scalarStruct(env.kernelBtf!, t, 0) : 'no';
    if (scalars === 'unsure' || !t || !isStructKind(t)) throw notModelled(`argument ${i}: memory of this type`);
    if (scalars === 'no')
      throw new Rejection(
        pc,
        `arg#${i} pointer type ${kindName(t)} ${t.name} must point to void, scalar, or struct with scalar`,
      );
  }
  const pair = `arg#${i} arg#${i + 1} memory, len pair leads to invalid memory access`;
  const size = cur(st).regs[regno + 1]!;
  if (size.kind !== 'scalar' || !isConst(size.s)) throw notModelled(`argument ${i + 1}: a size not known`);
  // check_helper_mem_access: a number is no memory (NULL was dealt with by the caller); Linux 6.18 names
  // the stack only as what it expected.
  if (reg.kind === 'scalar') throw new Rejection(pc, `R${regno} type=scalar expected=fp\n${pair}`);
  const memKinds = ['fp', 'map_value', 'map_key', 'mem', 'pkt', 'pkt_meta'];
  if (!memKinds.includes(reg.kind)) throw notModelled(`argument ${i} as ${kindText(reg)}`);
  const n = size.s.t.value;
  if (n >= 1n << 63n)
    throw new Rejection(pc, `R${regno + 1} min value is negative, either use unsigned or 'var &= const'\n${pair}`);
  if (n >= 1n << 29n)
    throw new Rejection(pc, `R${regno + 1} unbounded memory access, use 'var &= const' or 'if (var < const)'\n${pair}`);
  try {
    helperMem(env, st, pc, regno, reg, Number(n), false);
    helperMem(env, st, pc, regno, reg, Number(n), true);
  } catch (err) {
    if (!(err instanceof Rejection) || /\bbpfkit\b/.test(err.message)) throw err;
    throw new Rejection(pc, `${err.message}\n${pair}`);
  }
  // The access was proven with this size (and `__szk` asks for it known): it stays exact.
  env.precision?.mark(regno + 1);
}

/** bpf_cast_to_kern_ctx's argument: the program's context, unmoved (KF_ARG_PTR_TO_CTX). Returns the struct id. */
function kernCtxArg(
  env: Env,
  pc: number,
  regno: number,
  reg: Reg,
  i: number,
  notModelled: (why: string) => Rejection,
): number {
  if (reg.kind === 'ctx') {
    if (reg.off < 0) throw new Rejection(pc, `negative offset ctx ptr R${regno} off=${reg.off} disallowed`);
    if (reg.off > 0) throw new Rejection(pc, `dereference of modified ctx ptr R${regno} off=${reg.off} disallowed`);
    if (!isConst(reg.s)) throw notModelled('a context pointer with a variable offset');
  } else if (reg.kind === 'scalar' || reg.kind === 'fp' || reg.kind === 'map_value' || reg.kind === 'pkt') {
    throw new Rejection(pc, `arg#${i} expected pointer to ctx, but got ${kindText(reg)}`);
  } else throw notModelled(`argument ${i} as ${kindText(reg)}`);
  const name = env.tpBtf ? undefined : kernCtxName(env.progType);
  const t = name ? env.kernelBtf!.byName(name, BtfKind.STRUCT) : undefined;
  if (!t) throw notModelled(`the kernel context of program type ${env.progType}`);
  return t.id;
}

/** r0 after the call, from the prototype's return type and the flags. */
export function returnReg(
  env: Env,
  st: State,
  pc: number,
  k: Kfunc,
  flags: number,
  constArg: bigint | undefined,
  kernCtx: number | undefined,
  notModelled: (why: string) => Rejection,
): Reg {
  const btf = env.kernelBtf!;
  if (k.name === 'bpf_cast_to_kern_ctx') return ptrReg('btf_id', { btf: internBtfPtr(btf, kernCtx!, 'trusted') });
  if (k.name === 'bpf_rdonly_cast') {
    const id = Number(constArg);
    const t = btf.types[id];
    // Linux 6.18 also casts to void: untrusted memory of no size, read anywhere, never written.
    if (id === 0) return ptrReg('untrusted_mem');
    if (!isStructKind(t)) throw new Rejection(pc, 'kfunc bpf_rdonly_cast type ID argument must be of a struct or void');
    return ptrReg('btf_id', { btf: internBtfPtr(btf, id, 'untrusted') });
  }
  const { t } = skipMods(btf, k.proto.sizeOrType);
  if (k.proto.sizeOrType === 0) return NOT_INIT;
  if (isScalarKind(t)) return UNKNOWN_SCALAR;
  if (t?.kind !== BtfKind.PTR) throw notModelled('its return type');
  const target = skipMods(btf, t.sizeOrType);
  if (target.id === 0) return UNKNOWN_SCALAR;
  if (!isStructKind(target.t)) throw notModelled('a pointer to memory as its return');
  // A plain PTR_TO_BTF_ID; KF_RET_NULL: maybe NULL, with an id for the null check; KF_ACQUIRE: a new
  // reference, which is also that id (acquire_reference_state).
  let reg = ptrReg('btf_id', { btf: internBtfPtr(btf, target.id, '') });
  if (flags & KF_RET_NULL) reg = { ...reg, nullable: true, id: newId(env) };
  if (flags & KF_ACQUIRE) {
    const ref = newId(env);
    st.refs.set(ref, pc);
    reg = { ...reg, ref, id: flags & KF_RET_NULL ? ref : reg.id };
  }
  return reg;
}
