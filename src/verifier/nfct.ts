/**
 * Kfuncs of the network stack that take the program's context, memory and kernel objects: the conntrack
 * kfuncs (net/netfilter/nf_conntrack_bpf.c: bpf_{skb,xdp}_ct_{alloc,lookup}, bpf_ct_insert_entry,
 * bpf_ct_release, bpf_ct_{set,change}_{timeout,status}; nf_nat_bpf.c: bpf_ct_set_nat_info), registered for
 * sched_cls and xdp, and bpf_sock_destroy (net/core/filter.c), registered for tracing but allowed only in
 * iterator programs (its set's filter; a trusted socket comes from the tcp and udp iterators). Each is checked as check_kfunc_args does, argument by
 * argument from the kernel's prototype:
 *
 * - Linux 6.18 treats every pointer argument of these kfuncs as trusted: NULL or a pointer that may be
 *   NULL is refused ("Possibly NULL pointer passed to trusted argN"), for the context, the memory and the
 *   objects alike, although the sources give most of them no KF_TRUSTED_ARGS (checked on the kernel);
 * - a pointer to the program's context struct (`struct __sk_buff *` in sched_cls, `struct xdp_md *` in
 *   xdp, btf_is_prog_ctx_type) takes the context itself, unmoved; in the other type it is not modelled;
 * - memory: with a `__sz` size after it a memory, size pair, else the size of the struct it points to
 *   (check_mem_reg), read then written;
 * - objects (nf_conn, nf_conn___init, sock_common) as PTR_TO_BTF_ID, referenced or trusted; `nf_conn` and
 *   `nf_conn___init` are no-cast aliases of each other (btf_type_ids_nocast_alias), so one never passes as
 *   the other: an allocated entry is set up (timeout, status, NAT) as nf_conn___init, then
 *   bpf_ct_insert_entry releases it and gives back a referenced nf_conn, which bpf_ct_release releases.
 *
 * Writes through a BTF pointer in sched_cls and xdp go to the program type's btf_struct_access, which asks
 * conntrack's (nf_conntrack_btf_struct_access): only an nf_conn's (or nf_conn___init's) `mark` may be
 * written, whole or its start; anything else is refused.
 */
import { type Btf, type BtfType, BtfKind } from '../btf/index.js';
import type { Instruction } from '../isa/instruction.js';
import { ProgType } from '../uapi/types.js';
import { skipMods } from './btf-ptr.js';
import { TRACE_ITER } from './iter.js';
import type { Next } from './calls.js';
import type { Env } from './env.js';
import {
  type Kfunc,
  btfIdArg,
  isScalarKind,
  isStructKind,
  memSizeArg,
  returnReg,
  scalarStruct,
  structIdsMatch,
} from './kfunc.js';
import { KF_ACQUIRE, KF_RCU, KF_RELEASE, KF_RET_NULL, KF_TRUSTED_ARGS, kfuncSetAllowed } from './kfunc-table.js';
import { readDynptrAt } from './dynptr.js';
import { regOff } from './dynptr-kfunc.js';
import { helperMem } from './memory.js';
import { Rejection } from './reject.js';
import { isConst } from './scalar.js';
import {
  type Reg,
  type State,
  type VerifierMap,
  NOT_INIT,
  UNKNOWN_SCALAR,
  cur,
  forEachReg,
  isPointer,
  kindText,
  ptrReg,
} from './state.js';

/**
 * Where a kfunc of this file may be called: sched_cls and xdp (conntrack); iterator programs
 * (bpf_sock_destroy); sched_cls, sched_act and xdp (crypt_kfunc_set); syscall programs (crypt_init_kfunc_set);
 * kprobe and uprobe session programs (BPF_TRACE_KPROBE_SESSION 56, _UPROBE_SESSION 57; the set's filter);
 * every program type (a set registered for BPF_PROG_TYPE_UNSPEC); sched_cls, tracing and syscall (the test
 * kfuncs of net/bpf/test_run.c; struct_ops, which 6.12 also registers them for, is not modelled); xdp
 * (net/xfrm/xfrm_state_bpf.c); sched_cls (bpf_kfunc_set_tcp_reqsk).
 */
type Where = 'tc_xdp' | 'sock_iter' | 'crypt' | 'syscall' | 'session' | 'any' | 'test' | 'xdp' | 'tc';

const A = KF_ACQUIRE;
const R = KF_RELEASE;
const N = KF_RET_NULL;
/** Every pointer argument is trusted on Linux 6.18 (see the file's comment). */
const T = KF_TRUSTED_ARGS;
const C = KF_RCU;

/** The kfuncs this file models: where they may be called, and their flags (BTF_ID_FLAGS). */
const NET_KFUNCS: ReadonlyMap<string, { where: Where; flags: number }> = new Map([
  ['bpf_xdp_ct_alloc', { where: 'tc_xdp', flags: A | N | T }],
  ['bpf_xdp_ct_lookup', { where: 'tc_xdp', flags: A | N | T }],
  ['bpf_skb_ct_alloc', { where: 'tc_xdp', flags: A | N | T }],
  ['bpf_skb_ct_lookup', { where: 'tc_xdp', flags: A | N | T }],
  ['bpf_ct_insert_entry', { where: 'tc_xdp', flags: A | N | R | T }],
  ['bpf_ct_release', { where: 'tc_xdp', flags: R | T }],
  ['bpf_ct_set_timeout', { where: 'tc_xdp', flags: T }],
  ['bpf_ct_change_timeout', { where: 'tc_xdp', flags: T }],
  ['bpf_ct_set_status', { where: 'tc_xdp', flags: T }],
  ['bpf_ct_change_status', { where: 'tc_xdp', flags: T }],
  ['bpf_ct_set_nat_info', { where: 'tc_xdp', flags: T }],
  ['bpf_sock_destroy', { where: 'sock_iter', flags: T }],
  // kernel/bpf/crypto.c: bpf_crypto_ctx_create is KF_SLEEPABLE, which a syscall program always is.
  ['bpf_crypto_ctx_create', { where: 'syscall', flags: A | N | T }],
  ['bpf_crypto_ctx_acquire', { where: 'syscall', flags: A | N | C }],
  ['bpf_crypto_ctx_release', { where: 'syscall', flags: R | T }],
  ['bpf_crypto_encrypt', { where: 'crypt', flags: C }],
  ['bpf_crypto_decrypt', { where: 'crypt', flags: C }],
  // kernel/trace/bpf_trace.c: no arguments; the cookie is 8 writable bytes (check_kfunc_call's r0_size).
  ['bpf_session_cookie', { where: 'session', flags: 0 }],
  ['bpf_session_is_return', { where: 'session', flags: 0 }],
  // kernel/bpf/map_iter.c: a trusted struct bpf_map (a map iterator's).
  ['bpf_map_sum_elem_count', { where: 'any', flags: T }],
  // net/bpf/test_run.c: gives back a prog_test_ref_kfunc (a referenced kptr taken out of a map).
  ['bpf_kfunc_call_test_release', { where: 'test', flags: R | T }],
  // net/xfrm/xfrm_state_bpf.c: an xfrm state looked up by its options, and given back.
  ['bpf_xdp_get_xfrm_state', { where: 'xdp', flags: A | N | T }],
  ['bpf_xdp_xfrm_state_release', { where: 'xdp', flags: R | T }],
  // net/core/filter.c: a request socket for a listener (a socket a lookup helper returned).
  ['bpf_sk_assign_tcp_reqsk', { where: 'tc', flags: T }],
]);

/** bpf_wq_init (helpers.c's generic set): a work item in a map value, initialized for its own map. */
const WQ_INIT = 'bpf_wq_init';

/** Does nfct.ts take this kfunc call (kfunc.ts asks before its own table)? */
export const modelsNetKfunc = (name: string): boolean => NET_KFUNCS.has(name) || name === WQ_INIT;

/** The context structs of sched_cls and xdp as the kernel names them: the uapi one and its projection. */
function ctxStructs(progType: number): readonly string[] {
  if (progType === ProgType.SCHED_CLS) return ['__sk_buff', 'sk_buff'];
  if (progType === ProgType.XDP) return ['xdp_md', 'xdp_buff'];
  return [];
}
/** Every program type's context struct a kfunc of this file names. */
const ANY_CTX: ReadonlySet<string> = new Set(['__sk_buff', 'sk_buff', 'xdp_md', 'xdp_buff']);

/** May the program call a kfunc of `where` (the set's program types and its filter)? */
function allowed(env: Env, where: Where): boolean {
  if (where === 'any') return true;
  if (where === 'xdp') return env.progType === ProgType.XDP;
  if (where === 'tc') return env.progType === ProgType.SCHED_CLS;
  if (where === 'test')
    return env.progType === ProgType.SCHED_CLS || env.progType === 26 || env.progType === PROG_SYSCALL;
  if (where === 'tc_xdp') return env.progType === ProgType.SCHED_CLS || env.progType === ProgType.XDP;
  if (where === 'crypt')
    return env.progType === ProgType.SCHED_CLS || env.progType === ProgType.SCHED_ACT || env.progType === ProgType.XDP;
  if (where === 'syscall') return env.progType === PROG_SYSCALL;
  // bpf_kprobe_multi_filter: kprobe and uprobe session programs only.
  if (where === 'session') return env.progType === ProgType.KPROBE && (env.attachType === 56 || env.attachType === 57);
  // bpf_sock_destroy's set filter (tracing_iter_filter): any iterator program (BPF_TRACE_ITER), whatever
  // its target; its argument then needs a trusted socket, which only the tcp and udp targets give.
  return env.progType === 26 && env.attachType === TRACE_ITER;
}

/** BPF_PROG_TYPE_SYSCALL. */
const PROG_SYSCALL = 31;

const isNullConst = (r: Reg): boolean => r.kind === 'scalar' && isConst(r.s) && r.s.t.value === 0n;

/** Execute a call of one of this file's kfuncs. */
export function netKfuncCall(env: Env, st: State, insn: Instruction, k: Kfunc): Next[] {
  const pc = insn.pc;
  const btf = env.kernelBtf!;
  const notModelled = (what: string) =>
    new Rejection(pc, `kfunc ${k.name} (btf_id ${k.id}): bpfkit does not model ${what}`);
  if (k.name === WQ_INIT) return wqInit(env, st, pc, k.name, notModelled);
  const { where, flags } = NET_KFUNCS.get(k.name)!;
  if (where === 'test' && env.progType === 27) throw notModelled('the test kfuncs in struct_ops');
  // fetch_kfunc_meta: the kfunc must be in a set registered for the program's type, first.
  if (!allowed(env, where)) throw new Rejection(pc, `calling kernel function ${k.name} is not allowed`);
  // A syscall program is sleepable: its crypto kfuncs take memory and referenced pointers only, whose
  // rules do not change outside an RCU read section; other sleepable programs are not modelled.
  if (env.sleepable && where !== 'syscall') throw notModelled('a kfunc call in a sleepable program');
  if (st.rcu || st.preempt) throw notModelled('a kfunc call inside an RCU or preemption section');
  if (st.lock) throw notModelled('a kfunc call under a bpf_spin_lock');
  if (flags & (A | R) && st.frames.some((f) => f.callback))
    throw notModelled('a reference taken or released inside a callback');
  const f = cur(st);
  const params = k.proto.members;
  let releaseReg = 0;
  let sizeArg = -1;
  params.forEach((param, i) => {
    const regno = i + 1;
    const reg = f.regs[regno]!;
    if (i === sizeArg) return;
    const { t } = skipMods(btf, param.type);
    if (isScalarKind(t)) {
      if (reg.kind !== 'scalar') throw new Rejection(pc, `R${regno} is not a scalar`);
      return;
    }
    if (!t || t.kind !== BtfKind.PTR) throw notModelled(`argument ${i} of this kind`);
    // An unset register as a pointer: which of the checks below the kernel stops at is not modelled.
    if (reg.kind === 'not_init') throw notModelled(`an unset argument (R${regno})`);
    // get_kfunc_ptr_arg_type: a `__nullable` argument may be NULL (KF_ARG_PTR_TO_NULL).
    if (param.name.endsWith('__nullable') && isNullConst(reg)) return;
    // check_kfunc_args: a trusted argument is never NULL (before its kind is looked at).
    if (isNullConst(reg) || (isPointer(reg) && reg.nullable))
      throw new Rejection(pc, `Possibly NULL pointer passed to trusted arg${i}`);
    if (reg.ref && flags & R) releaseReg = regno;
    const target = skipMods(btf, t.sizeOrType);
    const tname = target.t?.name ?? '';
    if (ctxStructs(env.progType).includes(tname)) return ctxArg(pc, regno, reg, i, notModelled);
    if (ANY_CTX.has(tname)) throw notModelled(`argument ${i}: another program type's context`);
    if (tname === 'bpf_dynptr' && target.t?.kind === BtfKind.STRUCT)
      return dynptrArg(env, st, pc, regno, reg, i, notModelled);
    if (reg.kind === 'btf_id') {
      if (!isStructKind(target.t)) throw notModelled(`argument ${i} of a pointer to a non-struct`);
      btfIdArg(btf, pc, regno, reg, i, k.name, flags, target.id, target.t!, notModelled);
      return;
    }
    const sockStruct = REG_STRUCTS.get(reg.kind);
    if (sockStruct) {
      if (!isStructKind(target.t)) throw notModelled(`argument ${i} of a pointer to a non-struct`);
      sockArg(btf, pc, regno, reg, i, k.name, sockStruct, target.id, target.t!, notModelled);
      return;
    }
    if (reg.kind === 'ctx') throw notModelled(`argument ${i} as ${kindText(reg)}`);
    const size = params[i + 1];
    if (size && /__sz$/.test(size.name)) {
      memSizeArg(env, st, pc, regno, reg, i, target, notModelled);
      sizeArg = i + 1;
      return;
    }
    memArg(env, st, pc, regno, reg, i, target, notModelled);
  });
  if (flags & R && !releaseReg)
    throw new Rejection(pc, `release kernel function ${k.name} expects refcounted PTR_TO_BTF_ID`);
  if (releaseReg) {
    const ref = f.regs[releaseReg]!.ref;
    st.refs.delete(ref);
    forEachReg(st, (r) => (r.ref === ref ? UNKNOWN_SCALAR : r));
  }
  for (let r = 1; r <= 5; r++) f.regs[r] = NOT_INIT;
  f.regs[0] =
    k.name === 'bpf_session_cookie'
      ? ptrReg('mem', { size: 8 })
      : returnReg(env, st, pc, k, flags, undefined, undefined, notModelled);
  return [{ pc: pc + 1, st }];
}

/**
 * The structs of the socket and map pointers (reg2btf_ids): they pass as trusted PTR_TO_BTF_ID of these
 * (a map pointer as struct bpf_map, whatever the map's own struct).
 */
const REG_STRUCTS: ReadonlyMap<string, string> = new Map([
  ['sock', 'sock'],
  ['sock_common', 'sock_common'],
  ['tcp_sock', 'tcp_sock'],
  ['map_ptr', 'bpf_map'],
]);

/**
 * A socket a helper returned, or a map pointer, as a kfunc's struct argument (KF_ARG_PTR_TO_BTF_ID
 * through reg2btf_ids):
 * trusted, unmoved (check_func_arg_reg_off), and its struct the wanted one or one that starts with it
 * (process_kf_arg_ptr_to_btf_id; strict for a released reference, which no kfunc here takes).
 */
function sockArg(
  btf: Btf,
  pc: number,
  regno: number,
  reg: Reg,
  i: number,
  name: string,
  struct: string,
  want: number,
  wantType: BtfType,
  notModelled: (why: string) => Rejection,
): void {
  if (reg.off !== 0 || !isConst(reg.s) || reg.s.t.value !== 0n)
    throw notModelled(`argument ${i}: a moved ${kindText(reg)}`);
  const from = btf.byName(struct, BtfKind.STRUCT);
  if (!from) throw notModelled(`struct ${struct} (not in the kernel's BTF)`);
  const match = structIdsMatch(btf, from.id, 0, want);
  if (match === 'unsure') throw notModelled(`whether struct ${struct} passes as ${wantType.name} (argument ${i})`);
  if (!match)
    throw new Rejection(
      pc,
      `kernel function ${name} args#${i} expected pointer to STRUCT ${wantType.name} but R${regno} has a pointer to STRUCT ${struct}`,
    );
}

/**
 * The program's context as a kfunc argument (KF_ARG_PTR_TO_CTX): check_func_arg_reg_off first (an
 * unmoved context), then the register's type.
 */
function ctxArg(pc: number, regno: number, reg: Reg, i: number, notModelled: (why: string) => Rejection): void {
  if (reg.kind === 'ctx') {
    if (reg.off < 0) throw new Rejection(pc, `negative offset ctx ptr R${regno} off=${reg.off} disallowed`);
    if (reg.off > 0) throw new Rejection(pc, `dereference of modified ctx ptr R${regno} off=${reg.off} disallowed`);
    if (!isConst(reg.s)) throw notModelled('a context pointer with a variable offset');
    return;
  }
  // Stack and map value pointers pass check_func_arg_reg_off at any constant offset.
  if ((reg.kind === 'fp' || reg.kind === 'map_value') && isConst(reg.s))
    throw new Rejection(pc, `arg#${i} expected pointer to ctx, but got ${kindText(reg)}`);
  throw notModelled(`argument ${i} as ${kindText(reg)}`);
}

/**
 * A pointer to memory of the size of the struct it points to (KF_ARG_PTR_TO_MEM, check_mem_reg): a struct
 * of scalars, read then written whole.
 */
function memArg(
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
  const scalars = isScalarKind(t) ? 'yes' : t && isStructKind(t) ? scalarStruct(env.kernelBtf!, t, 0) : 'unsure';
  // get_kfunc_ptr_arg_type: memory must be scalars (a kernel object passed as memory is refused).
  if (scalars === 'no')
    throw new Rejection(
      pc,
      `arg#${i} pointer type ${t!.kind === BtfKind.UNION ? 'UNION' : 'STRUCT'} ${t!.name} must point to scalar, or struct with scalar`,
    );
  if (scalars !== 'yes') throw notModelled(`argument ${i}: memory of this type`);
  if (!['fp', 'map_value', 'mem', 'pkt', 'pkt_meta'].includes(reg.kind))
    throw notModelled(`argument ${i} as ${kindText(reg)}`);
  const size = env.kernelBtf!.sizeOf(target.id);
  helperMem(env, st, pc, regno, reg, size, false);
  helperMem(env, st, pc, regno, reg, size, true);
}

/**
 * A dynptr argument that the kfunc only reads (KF_ARG_PTR_TO_DYNPTR without `__uninit`): after
 * check_func_arg_reg_off, a stack pointer to an initialized dynptr of any type, or a const one unmoved.
 */
function dynptrArg(
  env: Env,
  st: State,
  pc: number,
  regno: number,
  reg: Reg,
  i: number,
  notModelled: (why: string) => Rejection,
): void {
  regOff(pc, regno, reg, notModelled);
  if (reg.kind === 'dynptr_ptr') return;
  if (reg.kind !== 'fp') throw new Rejection(pc, `arg#${i} expected pointer to stack or const struct bpf_dynptr`);
  if (!readDynptrAt(env, st, reg)) throw new Rejection(pc, `Expected an initialized dynptr as arg #${i}`);
}

/**
 * A store through a BTF pointer in sched_cls or xdp (tc_cls_act_btf_struct_access and
 * xdp_btf_struct_access hand it to conntrack's): into an nf_conn or nf_conn___init, only at `mark`'s
 * offset and within it; through any other struct "only read is supported". `off` is the instruction's,
 * the pointer's own offset is added. Returns false where the kernel's other rules apply (not these types).
 */
export function nfConnWrite(env: Env, pc: number, regno: number, reg: Reg, off: number, size: number): boolean {
  if (env.progType !== ProgType.SCHED_CLS && env.progType !== ProgType.XDP) return false;
  if (env.sleepable || !env.kernelBtf) return false;
  const p = reg.btf!;
  // check_ptr_to_btf_access's checks before the program type's own.
  if (!env.gplCompatible)
    throw new Rejection(pc, `Cannot access kernel 'struct ${p.name}' from non-GPL compatible program`);
  const total = reg.off + off;
  if (total < 0) throw new Rejection(pc, `R${regno} is ptr_${p.name} invalid negative access: off=${total}`);
  if (!isConst(reg.s) || reg.s.t.value !== 0n)
    throw new Rejection(pc, `R${regno} has a variable offset: bpfkit does not model it for ptr_${p.name}`);
  // Linux 6.18 writes through no untrusted pointer (a walk's, bpf_rdonly_cast's), whatever its struct:
  // checked with an entry's `master` and a cast nf_conn. Which trusted or RCU ones it writes is not
  // checked: only the plain (referenced) pointers the conntrack kfuncs return are modelled.
  if (p.trust === 'untrusted' || (p.name !== 'nf_conn' && p.name !== 'nf_conn___init'))
    throw new Rejection(pc, 'only read is supported');
  if (p.trust !== '') throw new Rejection(pc, `R${regno} ${p.trust} ptr_${p.name} written: bpfkit does not model it`);
  const conn = env.kernelBtf.byName('nf_conn', BtfKind.STRUCT);
  const mark = conn?.members.find((m) => m.name === 'mark');
  // Without CONFIG_NF_CONNTRACK_MARK no member may be written; bpfkit reads the kernel's BTF for it.
  if (!mark || mark.size) throw new Rejection(pc, `no write support to nf_conn at off ${total}`);
  const start = mark.offset / 8;
  const end = start + env.kernelBtf.sizeOf(mark.type);
  if (total !== start) throw new Rejection(pc, `no write support to nf_conn at off ${total}`);
  if (total + size > end)
    throw new Rejection(
      pc,
      `write access at off ${total} with size ${size} beyond the member of nf_conn ended at ${end}`,
    );
  return true;
}

/**
 * bpf_wq_init(wq, p__map, flags): KF_ARG_PTR_TO_WORKQUEUE, a map value pointer exactly at its map's
 * struct bpf_wq (process_wq_func); KF_ARG_PTR_TO_MAP, the first argument's map (the map_uid check;
 * bpfkit models top-level maps only); a scalar. Both pointers
 * are trusted arguments on Linux 6.18: never NULL.
 */
function wqInit(env: Env, st: State, pc: number, name: string, notModelled: (why: string) => Rejection): Next[] {
  if (!kfuncSetAllowed('generic', env.progType))
    throw new Rejection(pc, `calling kernel function ${name} is not allowed`);
  if (env.sleepable) throw notModelled('a kfunc call in a sleepable program');
  if (st.lock) throw notModelled('a kfunc call under a bpf_spin_lock');
  const f = cur(st);
  const [wq, m, flags] = [f.regs[1]!, f.regs[2]!, f.regs[3]!];
  const isMap = (map: VerifierMap) => [...env.maps.values()].includes(map);
  const wqOff = (map: VerifierMap) => map.kernelFields?.find((x) => x.what === 'struct bpf_wq')?.off;
  for (const [i, reg] of [wq, m].entries())
    if (isNullConst(reg) || (isPointer(reg) && reg.nullable))
      throw new Rejection(pc, `Possibly NULL pointer passed to trusted arg${i}`);
  if (wq.kind === 'fp' || wq.kind === 'pkt') throw new Rejection(pc, "arg#0 doesn't point to a map value");
  if (wq.kind !== 'map_value') throw notModelled(`argument 0 as ${kindText(wq)}`);
  if (!isConst(wq.s)) throw notModelled('a work item at a variable offset');
  if (!isMap(wq.map!)) throw notModelled("an inner map's work item (map_uid)");
  const at = wqOff(wq.map!);
  if (at === undefined) throw notModelled(`map '${wq.map!.name}' without a bpf_wq bpfkit finds in its BTF`);
  const off = wq.off + Number(BigInt.asIntN(64, wq.s.t.value));
  if (off !== at) throw new Rejection(pc, `off ${off} doesn't point to 'struct bpf_wq' that is at ${at}`);
  // The map argument: any register without a map pointer (the stack, a number) is refused.
  if (m.kind === 'fp' || m.kind === 'scalar') throw new Rejection(pc, "pointer in R2 isn't map pointer");
  if (m.kind !== 'map_ptr') throw notModelled(`argument 1 as ${kindText(m)}`);
  if (!isMap(m.map!)) throw notModelled('an inner map (map_uid)');
  // Linux 6.18 compares the maps whether or not the second one's value holds a bpf_wq (checked on the
  // kernel with a map of plain u64s; 6.12 compared only one that has).
  if (m.map !== wq.map)
    throw new Rejection(pc, "workqueue pointer in R1 map_uid=0 doesn't match map pointer in R2 map_uid=0");
  if (flags.kind !== 'scalar') throw new Rejection(pc, 'R3 is not a scalar');
  for (let r = 1; r <= 5; r++) f.regs[r] = NOT_INIT;
  f.regs[0] = UNKNOWN_SCALAR;
  return [{ pc: pc + 1, st }];
}
