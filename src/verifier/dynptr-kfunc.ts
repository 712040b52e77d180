/**
 * The bpf_dynptr_* kfuncs (net/core/filter.c's skb and xdp sets, helpers.c's common set), on the stack
 * dynptrs of dynptr.ts: bpf_dynptr_from_skb, _from_skb_meta and _from_xdp make skb, skb metadata and
 * xdp dynptrs of the program's context (slices of which point into the packet); bpf_dynptr_clone makes a dynptr of its parent's type that shares its reference (a
 * ring buffer's, which either one gives back for both); bpf_dynptr_slice hands out a read-only slice of
 * a constant size, maybe NULL (its life: dynptr-slice.ts); bpf_dynptr_adjust, _is_null, _is_rdonly and
 * _size read a made dynptr. The arguments are checked as check_kfunc_args does (scalars, the NULL check
 * Linux 6.18 applies to every pointer argument but `__opt` and `__uninit` ones, check_func_arg_reg_off,
 * the context, process_dynptr_func, the buffer and its constant size), each rule checked on the live
 * kernel by loading programs.
 *
 * Not modelled (refused as such, naming why): bpf_dynptr_slice_rdwr (this kernel refuses every program
 * that calls it, with EPERM and "bpf_dynptr_slice_rdwr() is not allowed" at the call; whether lockdown or
 * this build decides that is not known, so no rule of it could be checked), the kfuncs of
 * Linux 6.18 the selftests of 6.12 do not call (bpf_dynptr_copy, _memset, the probe_read / copy_from_user dynptr family), a context argument that is neither the program's own
 * __sk_buff / xdp_md nor a trusted struct sk_buff pointer, calls inside callbacks or under a bpf_spin_lock.
 */
import { BtfKind } from '../btf/index.js';
import type { Instruction } from '../isa/instruction.js';
import { ProgType } from '../uapi/types.js';
import type { Next } from './calls.js';
import { type DynptrUse, makeDynptr, readDynptrAt } from './dynptr.js';
import { type Env, newId } from './env.js';
import type { Kfunc } from './kfunc.js';
import { CGROUP_TYPES, TRACING_TYPES } from './kfunc-table.js';
import { helperMem, noteDepth } from './memory.js';
import { Rejection } from './reject.js';
import { isConst } from './scalar.js';
import {
  type DynptrSlice,
  type DynptrSlot,
  NOT_INIT,
  type Reg,
  type State,
  UNKNOWN_SCALAR,
  cur,
  isPointer,
  kindText,
  ptrReg,
} from './state.js';
import { tstr } from './tnum.js';

/** The kfuncs modelled here. */
const MODELLED: ReadonlySet<string> = new Set([
  'bpf_dynptr_from_skb',
  'bpf_dynptr_from_skb_meta',
  'bpf_dynptr_from_xdp',
  'bpf_dynptr_slice',
  'bpf_dynptr_clone',
  'bpf_dynptr_adjust',
  'bpf_dynptr_is_null',
  'bpf_dynptr_is_rdonly',
  'bpf_dynptr_size',
]);

/** Is `name` a kfunc this file models (kfunc.ts hands those here)? */
export const modelsDynptrKfunc = (name: string): boolean => MODELLED.has(name);

/** The kfuncs that make a dynptr of the context, and the dynptr type each makes. */
const FROM_CTX: ReadonlyMap<string, DynptrSlot['type']> = new Map([
  ['bpf_dynptr_from_skb', 'skb'],
  ['bpf_dynptr_from_skb_meta', 'skb_meta'],
  ['bpf_dynptr_from_xdp', 'xdp'],
] as const);

/** BPF_PROG_TYPE_NETFILTER. */
const NETFILTER = 32;

/** Program types whose context is a struct __sk_buff that bpf_kfunc_set_skb is registered for. */
const SKB_CTX_TYPES: ReadonlySet<number> = new Set([
  ProgType.SOCKET_FILTER,
  ProgType.SCHED_CLS,
  ProgType.SCHED_ACT,
  ProgType.SK_SKB,
  ProgType.CGROUP_SKB,
  ProgType.LWT_IN,
  ProgType.LWT_OUT,
  ProgType.LWT_XMIT,
  ProgType.LWT_SEG6LOCAL,
]);

/**
 * bpf_kfunc_set_skb's program types on Linux 6.18 (checked by loading a call in each type bpfkit
 * models): the __sk_buff ones, netfilter, and every type of the cgroup and tracing hooks it is
 * registered for through cgroup_skb and tracing (kfunc-table.ts).
 */
const SKB_SET_TYPES: ReadonlySet<number> = new Set([...SKB_CTX_TYPES, NETFILTER, ...CGROUP_TYPES, ...TRACING_TYPES]);

/** May a program of this type call kfunc `name` (fetch_kfunc_meta's btf_kfunc_id_set_contains)? */
function allowed(name: string, progType: number): boolean {
  if (name === 'bpf_dynptr_from_skb') return SKB_SET_TYPES.has(progType);
  if (name === 'bpf_dynptr_from_xdp') return progType === ProgType.XDP;
  // The tc set (Linux 6.18): sched_cls and sched_act, checked against every other __sk_buff type.
  if (name === 'bpf_dynptr_from_skb_meta') return progType === ProgType.SCHED_CLS || progType === ProgType.SCHED_ACT;
  return true; // common_btf_ids: every program type.
}

/** Kinds check_func_arg_reg_off lets through at any offset (the others must be unmodified pointers). */
const ANY_OFF: ReadonlySet<string> = new Set(['fp', 'pkt', 'pkt_meta', 'map_key', 'map_value', 'mem', 'scalar']);

const isNullConst = (r: Reg): boolean => r.kind === 'scalar' && isConst(r.s) && r.s.t.value === 0n;

/** The largest slice size modelled (the kernel keeps mem_size in 32 bits; helpers' memory stays below 1 << 29). */
const MAX_SLICE = 1 << 29;

/** A call of one of the kfuncs above (check_kfunc_call and check_kfunc_args for them). */
export function dynptrKfuncCall(env: Env, st: State, insn: Instruction, k: Kfunc): Next[] {
  const pc = insn.pc;
  const btf = env.kernelBtf!;
  const notModelled = (what: string) =>
    new Rejection(pc, `kfunc ${k.name} (btf_id ${k.id}): bpfkit does not model ${what}`);
  if (!allowed(k.name, env.progType)) throw new Rejection(pc, `calling kernel function ${k.name} is not allowed`);
  if (st.lock) throw notModelled('a kfunc call under a bpf_spin_lock');
  // References and slices inside callbacks follow rules bpfkit does not carry (as for iterators).
  if (st.frames.some((fr) => fr.callback)) throw notModelled('a dynptr kfunc inside a callback');
  const f = cur(st);
  const params = k.proto.members;
  /** meta->initialized_dynptr: the made dynptr an argument named. */
  let dyn: DynptrUse | undefined;
  let slice: { size: number; buffer: Reg } | undefined;
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!;
    const regno = i + 1;
    const reg = f.regs[regno]!;
    const t = btf.types[p.type] ? btf.resolve(p.type) : undefined;
    if (t && (t.kind === BtfKind.INT || t.kind === BtfKind.ENUM)) {
      if (reg.kind !== 'scalar') throw new Rejection(pc, `R${regno} is not a scalar`);
      continue;
    }
    if (!t || t.kind !== BtfKind.PTR) throw notModelled(`argument ${p.name}`);
    if (reg.kind === 'not_init') throw notModelled(`an unset argument (R${regno})`);
    const optional = p.name.endsWith('__opt');
    const uninit = p.name.endsWith('__uninit');
    // check_kfunc_args: Linux 6.18 refuses a NULL pointer argument but where the name allows one
    // (checked: the context, a dynptr; `__uninit` and `__opt` ones go on to their own checks).
    if (!optional && !uninit && (isNullConst(reg) || (isPointer(reg) && reg.nullable)))
      throw new Rejection(pc, `Possibly NULL pointer passed to trusted arg${i}`);
    const target = btf.types[t.sizeOrType] ? btf.resolve(t.sizeOrType) : undefined;
    if (i === 0 && FROM_CTX.has(k.name)) {
      ctxArg(env, pc, regno, reg, i, k.name, notModelled);
      continue;
    }
    if (target?.kind === BtfKind.STRUCT && target.name === 'bpf_dynptr') {
      regOff(pc, regno, reg, notModelled);
      if (reg.kind !== 'fp' && reg.kind !== 'dynptr_ptr')
        throw new Rejection(pc, `arg#${i} expected pointer to stack or const struct bpf_dynptr`);
      if (uninit) {
        // A const dynptr as a new one: the kernel's own misconfiguration error, not modelled.
        if (reg.kind === 'dynptr_ptr') throw notModelled('a const dynptr as an uninitialized one');
        const type: DynptrSlot['type'] = FROM_CTX.get(k.name) ?? dyn!.type;
        makeDynptr(env, st, pc, regno, reg, type, (sp, n) => noteDepth(env, sp, n, pc), dyn?.ref ?? 0);
        continue;
      }
      dyn = reg.kind === 'dynptr_ptr' ? { id: reg.id, type: 'local', ref: 0 } : readDynptrAt(env, st, reg);
      if (!dyn) throw new Rejection(pc, `Expected an initialized dynptr as arg #${i}`);
      continue;
    }
    if (optional && params[i + 1]?.name.endsWith('__szk')) {
      slice = { size: sliceSize(env, st, pc, regno, reg, i, notModelled), buffer: reg };
      i++; // the size went with its memory
      continue;
    }
    throw notModelled(`argument ${p.name}`);
  }
  for (let r = 1; r <= 5; r++) f.regs[r] = NOT_INIT;
  f.regs[0] = slice ? sliceReg(env, slice.size, slice.buffer, dyn!) : UNKNOWN_SCALAR;
  return [{ pc: pc + 1, st }];
}

/**
 * A global function's dynptr argument (btf_check_func_arg_match for ARG_PTR_TO_DYNPTR | MEM_RDONLY):
 * check_func_arg_reg_off, then an initialized dynptr on the stack or a const one. `refuse` adds the
 * kernel's line naming the function.
 */
export function globalDynptrArg(
  env: Env,
  st: State,
  pc: number,
  regno: number,
  reg: Reg,
  refuse: (why: string) => Rejection,
): void {
  const notModelled = (what: string) => new Rejection(pc, `R${regno}: bpfkit does not model ${what}`);
  if (reg.kind === 'not_init') throw notModelled('an unset dynptr argument of a global function');
  try {
    regOff(pc, regno, reg, notModelled);
  } catch (err) {
    if (err instanceof Rejection && !/\bbpfkit\b/.test(err.message)) throw refuse(err.message);
    throw err;
  }
  if (reg.kind !== 'fp' && reg.kind !== 'dynptr_ptr')
    throw refuse(`arg#${regno - 1} expected pointer to stack or const struct bpf_dynptr`);
  if (reg.kind === 'fp' && !readDynptrAt(env, st, reg))
    throw refuse(`Expected an initialized dynptr as arg #${regno - 1}`);
}

/**
 * check_func_arg_reg_off for an argument that is not released: stack, packet, map and memory pointers
 * may point anywhere; any other pointer must be unmodified.
 */
export function regOff(pc: number, regno: number, reg: Reg, notModelled: (what: string) => Rejection): void {
  if (ANY_OFF.has(reg.kind) || reg.kind === 'not_init') return;
  const t = kindText(reg);
  if (reg.off < 0) throw new Rejection(pc, `negative offset ${t} ptr R${regno} off=${reg.off} disallowed`);
  if (reg.off > 0) throw new Rejection(pc, `dereference of modified ${t} ptr R${regno} off=${reg.off} disallowed`);
  if (!isConst(reg.s)) throw notModelled(`a ${t} pointer with a variable offset`);
  if (reg.s.t.value !== 0n) throw new Rejection(pc, `variable ${t} access var_off=${tstr(reg.s.t)} disallowed`);
}

/**
 * The context argument of bpf_dynptr_from_skb / _from_xdp (KF_ARG_PTR_TO_CTX, when the program's context
 * is the kfunc's struct): the program's context, unmodified.
 */
function ctxArg(
  env: Env,
  pc: number,
  regno: number,
  reg: Reg,
  i: number,
  name: string,
  notModelled: (what: string) => Rejection,
): void {
  const ctxIsArg = name === 'bpf_dynptr_from_xdp' ? env.progType === ProgType.XDP : SKB_CTX_TYPES.has(env.progType);
  if (!ctxIsArg || env.tpBtf) {
    // Elsewhere the argument is a PTR_TO_BTF_ID (KF_ARG_PTR_TO_BTF_ID): a trusted or referenced struct
    // sk_buff passes as its projection __sk_buff (btf_is_projection_of). Modelled: such a pointer to
    // the struct itself (a tracepoint's skb, netfilter's ctx->skb); anything else is not.
    const p = reg.kind === 'btf_id' ? reg.btf : undefined;
    if (
      name === 'bpf_dynptr_from_skb' &&
      p?.name === 'sk_buff' &&
      (reg.ref || p.trust === 'trusted') &&
      reg.off === 0 &&
      isConst(reg.s) &&
      reg.s.t.value === 0n
    )
      return;
    throw notModelled(`argument ${i} as ${kindText(reg)} where the context is not the kfunc's struct`);
  }
  if (reg.kind === 'ctx') {
    regOff(pc, regno, reg, notModelled);
    return;
  }
  if (reg.kind === 'scalar' || reg.kind === 'fp' || reg.kind === 'map_value' || reg.kind === 'pkt')
    throw new Rejection(pc, `arg#${i} expected pointer to ctx, but got ${kindText(reg)}`);
  throw notModelled(`argument ${i} as ${kindText(reg)}`);
}

/**
 * bpf_dynptr_slice's buffer__opt, buffer__szk pair (KF_ARG_PTR_TO_MEM_SIZE): a buffer other than NULL is
 * checked for `size` bytes, read then written (check_kfunc_mem_size_reg, refusals followed by the line
 * naming the pair), and the size must be a known constant. Returns the size.
 */
function sliceSize(
  env: Env,
  st: State,
  pc: number,
  regno: number,
  buffer: Reg,
  i: number,
  notModelled: (what: string) => Rejection,
): number {
  const size = cur(st).regs[regno + 1]!;
  if (size.kind !== 'scalar') throw new Rejection(pc, `R${regno + 1} is not a scalar`);
  if (!isNullConst(buffer)) {
    if (buffer.nullable) throw notModelled('a buffer that may be NULL');
    regOff(pc, regno, buffer, notModelled);
    // check_mem_size_reg: the buffer is checked for the size's largest value (zero allowed).
    const pair = `arg#${i} arg#${i + 1} memory, len pair leads to invalid memory access`;
    if (size.s.smin < 0n)
      throw new Rejection(pc, `R${regno + 1} min value is negative, either use unsigned or 'var &= const'\n${pair}`);
    const n = size.s.umax;
    if (n >= 1n << 29n)
      throw new Rejection(
        pc,
        `R${regno + 1} unbounded memory access, use 'var &= const' or 'if (var < const)'\n${pair}`,
      );
    // check_helper_mem_access: a number is no memory; Linux 6.18 names the stack only as what it expected.
    if (buffer.kind === 'scalar') throw new Rejection(pc, `R${regno} type=scalar expected=fp\n${pair}`);
    if (!['fp', 'map_value', 'map_key', 'mem', 'pkt', 'pkt_meta'].includes(buffer.kind))
      throw notModelled(`a buffer of ${kindText(buffer)}`);
    try {
      helperMem(env, st, pc, regno, buffer, Number(n), false);
      helperMem(env, st, pc, regno, buffer, Number(n), true);
    } catch (err) {
      if (!(err instanceof Rejection) || /\bbpfkit\b/.test(err.message)) throw err;
      throw new Rejection(pc, `${err.message}\n${pair}`);
    }
  }
  if (!isConst(size.s)) throw new Rejection(pc, `R${regno + 1} must be a known constant`);
  // The slice's size comes from this value: it stays exact in remembered states.
  env.precision?.mark(regno + 1);
  if (size.s.t.value >= BigInt(MAX_SLICE)) throw notModelled('a slice this large');
  return Number(size.s.t.value);
}

/**
 * bpf_dynptr_slice's r0 (check_kfunc_call's slice case, then KF_RET_NULL): read-only memory of the
 * constant size, maybe NULL (a fresh id for the NULL check), carrying a ring buffer dynptr's reference
 * (its release kills the slice: checked), a packet flag for skb and xdp dynptrs, and the stack buffer
 * it was given (dynptr-slice.ts).
 */
function sliceReg(env: Env, size: number, buffer: Reg, dyn: DynptrUse): Reg {
  const pkt = dyn.type === 'skb' || dyn.type === 'xdp' || dyn.type === 'skb_meta';
  let s: DynptrSlice = { pkt, frame: -1, lo: 0, hi: 0 };
  if (buffer.kind === 'fp' && isConst(buffer.s) && size > 0) {
    const lo = buffer.off + Number(BigInt.asIntN(64, buffer.s.t.value));
    s = { pkt, frame: buffer.frame, lo, hi: lo + size };
    env.sliceBuffers = true;
  }
  return ptrReg('mem', { size, rdonly: true, nullable: true, id: newId(env), ref: dyn.ref, slice: s });
}
