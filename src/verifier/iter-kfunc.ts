/**
 * Open-coded iterators (the kfuncs bpf_iter_<type>_new / _next / _destroy behind bpf_for, bpf_repeat and
 * bpf_for_each): the iterator struct lives on the stack, in STACK_ITER slots that carry a reference and a
 * state. _new wants uninitialized stack at a constant, 8-byte aligned offset and acquires the reference;
 * _next and _destroy want an initialized iterator of the same type; _destroy releases it (exiting with one
 * alive is a leak). _next forks the walk (process_iter_next_call): the path goes on with NULL and the
 * iterator DRAINED, and, queued, with an element and the iterator ACTIVE one iteration deeper, its
 * imprecise scalars widened against the same loop's state one iteration up; walk.ts prunes that
 * iteration when it comes back to _next within the ranges of an unfinished state there (convergence).
 *
 * Modelled: bpf_iter_num_* and bpf_iter_bits_* (kernel/bpf/helpers.c: KF_ITER_NEW, KF_ITER_NEXT |
 * KF_RET_NULL, KF_ITER_DESTROY, no trusted arguments; their arguments besides the iterator are scalars
 * or ignored). Iterators over kernel objects (task, css, css_task, task_vma, kmem_cache, dmabuf) take
 * trusted or RCU pointers and hand out PTR_TO_BTF_ID elements: refused as not modelled, naming the kfunc.
 */
import { type Btf, type BtfType, BtfKind } from '../btf/index.js';
import type { Instruction } from '../isa/instruction.js';
import { BPF_PSEUDO_KFUNC_CALL } from '../isa/index.js';
import type { Next } from './calls.js';
import { type Env, newId } from './env.js';
import type { Kfunc } from './kfunc.js';
import { sliceBufferWrite } from './dynptr-slice.js';
import { noteDepth } from './memory.js';
import { widenImprecise } from './prune.js';
import { Rejection } from './reject.js';
import { isConst } from './scalar.js';
import {
  ByteType,
  type IterSlot,
  NOT_INIT,
  type Reg,
  type State,
  UNKNOWN_SCALAR,
  cloneState,
  constReg,
  cur,
  forEachReg,
  kindText,
  ptrReg,
  writableStack,
} from './state.js';
import { tstr } from './tnum.js';

/** The iterator types whose kfuncs are modelled (their flags are those of helpers.c's common set). */
const MODELLED: ReadonlySet<string> = new Set(['num', 'bits']);

const NAME = /^bpf_iter_([a-z0-9_]+)_(new|next|destroy)$/;

/** Is `name` a modelled iterator kfunc (kfunc.ts hands those here)? */
export const modelsIter = (name: string): boolean => MODELLED.has(NAME.exec(name)?.[1] ?? '');

/**
 * Is this instruction a call of a modelled iterator's _next (a forced checkpoint where the loop converges,
 * check_cfg's mark_force_checkpoint)? Known from the kernel's BTF, before the walk.
 */
export function isIterNextCall(btf: Btf | undefined, insn: Instruction): boolean {
  if (!btf || insn.code !== 0x85 || insn.src !== BPF_PSEUDO_KFUNC_CALL || insn.off !== 0) return false;
  const f = btf.types[insn.imm];
  if (!f || f.kind !== BtfKind.FUNC) return false;
  const m = NAME.exec(f.name);
  return m !== null && m[2] === 'next' && MODELLED.has(m[1]!);
}

/** A type with typedefs and qualifiers skipped (btf_type_skip_modifiers); undefined for an unknown id. */
const skipMods = (btf: Btf, id: number): BtfType | undefined => (btf.types[id] ? btf.resolve(id) : undefined);

/** Kinds check_func_arg_reg_off lets through with any offset (the rest must be unmodified pointers). */
const ANY_OFF = new Set(['fp', 'pkt', 'pkt_meta', 'map_key', 'map_value', 'mem', 'scalar']);

/** An iterator kfunc call (check_kfunc_call for KF_ITER_NEW / KF_ITER_NEXT / KF_ITER_DESTROY). */
export function iterKfuncCall(env: Env, st: State, insn: Instruction, k: Kfunc): Next[] {
  const pc = insn.pc;
  const btf = env.kernelBtf!;
  const op = NAME.exec(k.name)![2] as 'new' | 'next' | 'destroy';
  // add_kfunc_call: kfuncs are for GPL programs only.
  if (!env.gplCompatible) throw new Rejection(pc, 'cannot call kernel function from non-GPL compatible program');
  // do_check: no call but bpf_spin_unlock and a few kfuncs (bpf_iter_num_*, since Linux 6.15) while a
  // bpf_spin_lock is held.
  if (st.lock && !k.name.startsWith('bpf_iter_num_'))
    throw new Rejection(pc, 'function calls are not allowed while holding a lock');
  // References inside a callback follow rules of their own (sock-ptr.ts says the same of sockets).
  if (st.frames.some((f) => f.callback))
    throw new Rejection(pc, `kfunc ${k.name} inside a callback: bpfkit does not model iterators there`);
  const params = k.proto.members;
  const itPtr = params[0] && skipMods(btf, params[0].type);
  const itType = itPtr?.kind === BtfKind.PTR ? skipMods(btf, itPtr.sizeOrType) : undefined;
  if (!itType || itType.kind !== BtfKind.STRUCT || !itType.name.startsWith('bpf_iter_'))
    throw new Rejection(pc, `kfunc ${k.name}: its first argument is not an iterator: bpfkit does not model it`);
  const f = cur(st);
  const it = iterArg(env, st, pc, op, f.regs[1]!, itType);
  // The other arguments (check_kfunc_args): `__ign` ones are not checked, scalars must be scalars.
  for (let i = 1; i < params.length; i++) {
    const p = params[i]!;
    if (p.name.endsWith('__ign')) continue;
    const t = skipMods(btf, p.type);
    if (t && (t.kind === BtfKind.INT || t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64)) {
      if (f.regs[i + 1]!.kind !== 'scalar') throw new Rejection(pc, `R${i + 1} is not a scalar`);
      continue;
    }
    throw new Rejection(pc, `kfunc ${k.name}: argument ${p.name} is not modelled by bpfkit`);
  }
  for (let r = 1; r <= 5; r++) f.regs[r] = NOT_INIT;
  if (op === 'new') {
    f.regs[0] = UNKNOWN_SCALAR;
    return [{ pc: pc + 1, st }];
  }
  if (op === 'destroy') {
    // unmark_stack_slots_iter: the slots become invalid, and release_reference: every copy of an element
    // pointer it handed out becomes an unknown scalar (mark_reg_invalid, privileged).
    const stack = writableStack(st.frames[it.frame]!);
    for (let j = 0; j < it.slots; j++) {
      stack.delete(it.spi - j);
      env.stackWrite?.(it.frame, it.spi - j);
    }
    st.refs.delete(it.ref);
    forEachReg(st, (r) => (r.ref === it.ref ? UNKNOWN_SCALAR : r));
    f.regs[0] = NOT_INIT;
    return [{ pc: pc + 1, st }];
  }
  return nextCall(env, st, pc, k, it);
}

/** Where an iterator argument lives: its frame, first slot (spi, the lowest address), size and reference. */
interface IterAt {
  frame: number;
  spi: number;
  slots: number;
  ref: number;
  slot: IterSlot;
}

/**
 * The iterator argument (process_iter_arg): a stack pointer at a constant, aligned offset; for _new,
 * slots holding no iterator, which become one with a fresh reference; for the others, an initialized
 * iterator of the kfunc's type, whose slots count as read.
 */
function iterArg(env: Env, st: State, pc: number, op: string, reg: Reg, itType: BtfType): IterAt {
  const typeName = itType.name.slice('bpf_iter_'.length);
  const nslots = Math.floor(itType.sizeOrType / 8);
  // check_kfunc_args: Linux 6.18 checks iterator arguments as trusted ones, which may not be NULL.
  if (reg.nullable || (reg.kind === 'scalar' && isConst(reg.s) && reg.s.t.value === 0n))
    throw new Rejection(pc, 'Possibly NULL pointer passed to trusted arg0');
  if (reg.kind !== 'fp') {
    // check_func_arg_reg_off (ARG_DONTCARE), then the stack check.
    if (reg.kind === 'not_init')
      throw new Rejection(pc, `R1 !read_ok (bpfkit: an unset iterator argument is not modelled)`);
    if (!ANY_OFF.has(reg.kind)) {
      if (reg.off < 0) throw new Rejection(pc, `negative offset ${kindText(reg)} ptr R1 off=${reg.off} disallowed`);
      if (reg.off > 0)
        throw new Rejection(pc, `dereference of modified ${kindText(reg)} ptr R1 off=${reg.off} disallowed`);
      if (!isConst(reg.s) || reg.s.t.value !== 0n)
        throw new Rejection(pc, `variable ${kindText(reg)} access var_off=${tstr(reg.s.t)} disallowed`);
    }
    throw new Rejection(pc, 'arg#0 expected pointer to an iterator on stack');
  }
  const bad = new Rejection(
    pc,
    op === 'new'
      ? `expected uninitialized iter_${typeName} as arg #0`
      : `expected an initialized iter_${typeName} as arg #0`,
  );
  // stack_slot_obj_get_spi: a constant offset, a multiple of 8, with room for the whole iterator above it.
  if (!isConst(reg.s)) throw bad;
  const off = reg.off + Number(BigInt.asIntN(64, reg.s.t.value));
  if (off % 8 !== 0) throw bad;
  const spi = Math.trunc((-off - 1) / 8);
  if (spi + 1 < nslots) throw bad;
  const frame = st.frames[reg.frame]!;
  if (op === 'new') {
    for (let j = 0; j < nslots; j++) if (frame.stack.get(spi - j)?.iter) throw bad;
    // check_mem_access of each 8 bytes, as a write, before they are marked.
    for (let j = 0; j < nslots; j++) {
      const at = off + 8 * j;
      if (at < -512 || at + 8 > 0) throw new Rejection(pc, `invalid write to stack R1 off=${at} size=8`);
      sliceBufferWrite(env, st, pc, reg.frame, at, 8, false);
    }
    noteDepth(env, frame.subprog, -off, pc);
    // mark_stack_slots_iter: the reference first, then every slot ACTIVE at depth 0.
    const ref = newId(env);
    st.refs.set(ref, pc);
    const stack = writableStack(frame);
    let first: IterSlot | undefined;
    for (let j = 0; j < nslots; j++) {
      const slot: IterSlot = { btfId: itType.id, name: typeName, index: j, ref, state: 'active', depth: 0 };
      first ??= slot;
      stack.set(spi - j, { bytes: ITER_BYTES, iter: slot });
      env.stackWrite?.(reg.frame, spi - j);
    }
    return { frame: reg.frame, spi, slots: nslots, ref, slot: first! };
  }
  // is_iter_reg_valid_init: every slot part of one iterator of this type, in order.
  for (let j = 0; j < nslots; j++) {
    const s = frame.stack.get(spi - j)?.iter;
    if (!s || s.btfId !== itType.id || s.index !== j) throw bad;
  }
  // mark_iter_read: the iterator's slots are read (liveness).
  for (let j = 0; j < nslots; j++) env.stackRead?.(reg.frame, spi - j);
  const slot = frame.stack.get(spi)!.iter!;
  return { frame: reg.frame, spi, slots: nslots, ref: slot.ref, slot };
}

const ITER_BYTES: readonly ByteType[] = new Array<ByteType>(8).fill(ByteType.Iter);

/**
 * _next (check_kfunc_call's return, then process_iter_next_call): r0 is a read-only pointer to the element
 * (PTR_TO_MEM | MEM_RDONLY of the pointee's size, carrying the iterator's reference so _destroy voids
 * it), maybe NULL. An ACTIVE iterator forks: this path goes on with NULL and the iterator DRAINED; the
 * queued one with the element, the iterator ACTIVE one iteration deeper and imprecise scalars widened
 * against the loop's previous entry (walk.ts sets env.loopEntry). A DRAINED iterator only gives NULL.
 */
function nextCall(env: Env, st: State, pc: number, k: Kfunc, it: IterAt): Next[] {
  const btf = env.kernelBtf!;
  const ret = skipMods(btf, k.proto.sizeOrType);
  const elem = ret?.kind === BtfKind.PTR ? skipMods(btf, ret.sizeOrType) : undefined;
  if (!elem || (elem.kind !== BtfKind.INT && elem.kind !== BtfKind.ENUM))
    throw new Rejection(pc, `kfunc ${k.name}: its element type is not modelled by bpfkit`);
  const id = newId(env);
  const out: Next[] = [];
  if (it.slot.state === 'active') {
    let queued = cloneState(st);
    setFirst(queued, it, { ...it.slot, depth: it.slot.depth + 1 });
    if (env.loopEntry) queued = widenImprecise(env.loopEntry, queued);
    cur(queued).regs[0] = ptrReg('mem', { size: elem.sizeOrType, rdonly: true, id, ref: it.ref });
    out.push({ pc: pc + 1, st: queued });
  }
  setFirst(st, it, { ...it.slot, state: 'drained' });
  cur(st).regs[0] = constReg(0n);
  out.unshift({ pc: pc + 1, st });
  return out;
}

/** Replace the iterator's first slot's state in `st`. */
function setFirst(st: State, it: IterAt, slot: IterSlot): void {
  writableStack(st.frames[it.frame]!).set(it.spi, { bytes: ITER_BYTES, iter: slot });
}

/**
 * At a _next call: is the iterator r1 points to ACTIVE (is_state_visited prunes a loop's iteration that
 * comes back within an unfinished state's ranges only then)?
 */
export function iterArgActive(st: State): boolean {
  const r1 = cur(st).regs[1]!;
  if (r1.kind !== 'fp' || !isConst(r1.s)) return false;
  const off = r1.off + Number(BigInt.asIntN(64, r1.s.t.value));
  return st.frames[r1.frame]?.stack.get(Math.trunc((-off - 1) / 8))?.iter?.state === 'active';
}

/**
 * iter_active_depths_differ: an ACTIVE iterator of `old` at another depth in `now` means another
 * iteration of its loop, not a loop back to the same state (the infinite-loop check must not fire).
 */
export function iterDepthsDiffer(old: State, now: State): boolean {
  for (let fr = 0; fr < old.frames.length; fr++)
    for (const [k, slot] of old.frames[fr]!.stack) {
      const it = slot.iter;
      if (it?.state === 'active' && (now.frames[fr]?.stack.get(k)?.iter?.depth ?? 0) !== it.depth) return true;
    }
  return false;
}
