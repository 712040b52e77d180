/**
 * Dynptrs made and used by helpers (Linux 6.18): a struct bpf_dynptr is 16 bytes of a frame's stack, two
 * slots of STACK_DYNPTR that say its type (local from bpf_dynptr_from_mem, ringbuf from
 * bpf_ringbuf_reserve_dynptr), which slot comes first and its id. A helper argument ARG_PTR_TO_DYNPTR
 * | MEM_UNINIT makes one (at a constant, 8-aligned offset, over no ring buffer dynptr); the others want
 * one made. A ring buffer dynptr holds a reference (taken even when the reservation fails) that
 * bpf_ringbuf_submit_dynptr or bpf_ringbuf_discard_dynptr gives back. bpf_dynptr_data hands out a slice
 * (PTR_TO_MEM, maybe NULL) that dies with its dynptr. Instructions may not read dynptr bytes; a store
 * into one destroys a local dynptr (and its slices) and is refused over a ring buffer one. A
 * user_ringbuf_drain callback gets a CONST_PTR_TO_DYNPTR, which it may read through helpers only.
 * Dynptrs of skb and xdp, and the bpf_dynptr_* kfuncs, are dynptr-kfunc.ts's, on the stack rules here.
 */
import { type Env, newId } from './env.js';
import { sliceBufferWrite } from './dynptr-slice.js';
import { Rejection } from './reject.js';
import { isConst } from './scalar.js';
import {
  ByteType,
  type DynptrSlot,
  type Frame,
  type Reg,
  type Slot,
  type State,
  UNKNOWN_SCALAR,
  forEachReg,
  kindText,
  writableStack,
} from './state.js';

/** The helpers' dynptr argument kinds (enum bpf_arg_type's ARG_PTR_TO_DYNPTR with its flags). */
export type DynptrArgType =
  /** ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_LOCAL | MEM_UNINIT: the helper makes a local dynptr there. */
  | 'dynptr_local_out'
  /** ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_RINGBUF | MEM_UNINIT: a ring buffer dynptr, which takes a reference. */
  | 'dynptr_ringbuf_out'
  /** ARG_PTR_TO_DYNPTR | MEM_RDONLY: a made dynptr of any type, which the helper does not change. */
  | 'dynptr_ro'
  /** ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_RINGBUF | OBJ_RELEASE: a ring buffer dynptr the helper gives back. */
  | 'dynptr_ringbuf_release';

/** What a helper's dynptr argument named: the dynptr's id, type and reference (meta's dynptr fields). */
export interface DynptrUse {
  id: number;
  type: DynptrSlot['type'];
  ref: number;
}

const MAX_STACK = 512;

/**
 * stack_slot_obj_get_spi: the slot (bpfkit's index, as the kernel's spi) of the dynptr's first slot, or
 * why there is none. C division truncates, so offsets at or above fp land on slots below 1.
 */
function spiOf(reg: Reg): number | undefined {
  if (!isConst(reg.s)) return undefined;
  const off = reg.off + Number(BigInt.asIntN(64, reg.s.t.value));
  if (off % 8 !== 0) return undefined;
  const spi = Math.trunc((-off - 1) / 8);
  if (spi + 1 < 2) return undefined;
  return spi;
}

/** is_dynptr_reg_valid_init for a stack pointer: the two slots hold one dynptr, first slot at `spi`. */
function initialized(frame: Frame, spi: number | undefined): DynptrSlot | undefined {
  if (spi === undefined || spi >= MAX_STACK / 8) return undefined;
  const first = frame.stack.get(spi)?.dynptr;
  const second = frame.stack.get(spi - 1)?.dynptr;
  return first?.first && second && !second.first ? first : undefined;
}

/**
 * A helper's dynptr argument (check_func_arg: the register's type and offset, the release check, then
 * process_dynptr_func). `note` records the stack depth the made dynptr reaches (memory.ts's noteDepth).
 * Returns the dynptr named (made, for the _out kinds).
 */
export function dynptrArg(
  env: Env,
  st: State,
  pc: number,
  regno: number,
  reg: Reg,
  type: DynptrArgType,
  note: (subprog: number, bytes: number) => void,
): DynptrUse {
  // check_reg_type: dynptr_types.
  if (reg.kind !== 'fp' && reg.kind !== 'dynptr_ptr')
    throw new Rejection(pc, `R${regno} type=${kindText(reg)} expected=fp, dynptr_ptr`);
  if (reg.kind === 'dynptr_ptr') {
    // check_func_arg_reg_off: a const dynptr pointer must be the one the callback got, unmoved.
    if (reg.off < 0) throw new Rejection(pc, `negative offset dynptr_ptr ptr R${regno} off=${reg.off} disallowed`);
    if (reg.off > 0)
      throw new Rejection(pc, `dereference of modified dynptr_ptr ptr R${regno} off=${reg.off} disallowed`);
    if (!isConst(reg.s))
      throw new Rejection(pc, `R${regno} dynptr_ptr with a variable offset: bpfkit does not model it`);
    if (type === 'dynptr_ringbuf_release') throw new Rejection(pc, 'cannot release unowned const bpf_dynptr');
    if (type !== 'dynptr_ro') throw new Rejection(pc, 'Dynptr has to be an uninitialized dynptr');
    return { id: reg.id, type: 'local', ref: 0 };
  }
  const frame = st.frames[reg.frame]!;
  const spi = spiOf(reg);
  // The release check comes first: the slot must hold something with a reference (spilled_ptr.ref_obj_id).
  const held = spi === undefined ? undefined : frame.stack.get(spi);
  if (type === 'dynptr_ringbuf_release' && !(held?.dynptr?.ref || held?.spill?.ref))
    throw new Rejection(pc, `arg ${regno} is an unacquired reference`);
  if (type === 'dynptr_local_out' || type === 'dynptr_ringbuf_out')
    return makeDynptr(env, st, pc, regno, reg, type === 'dynptr_ringbuf_out' ? 'ringbuf' : 'local', note);
  const d = initialized(frame, spi);
  if (!d) throw new Rejection(pc, `Expected an initialized dynptr as arg #${regno - 1}`);
  if (type === 'dynptr_ringbuf_release' && d.type !== 'ringbuf')
    throw new Rejection(pc, `Expected a dynptr of type ringbuf as arg #${regno - 1}`);
  // mark_dynptr_read: the walk's remembered states above have read both slots.
  env.stackRead?.(reg.frame, spi!);
  env.stackRead?.(reg.frame, spi! - 1);
  return { id: d.id, type: d.type, ref: d.ref };
}

/**
 * The initialized dynptr a stack pointer names (is_dynptr_reg_valid_init), its slots counted as read
 * (mark_dynptr_read); undefined when there is none.
 */
export function readDynptrAt(env: Env, st: State, reg: Reg): DynptrUse | undefined {
  const spi = spiOf(reg);
  const d = initialized(st.frames[reg.frame]!, spi);
  if (!d) return undefined;
  env.stackRead?.(reg.frame, spi!);
  env.stackRead?.(reg.frame, spi! - 1);
  return { id: d.id, type: d.type, ref: d.ref };
}

/**
 * MEM_UNINIT: the kernel first stores 8 unknown bytes twice (check_mem_access, which bounds the stack and
 * destroys a local dynptr there or refuses a ring buffer one), then marks both slots (mark_stack_slots_dynptr):
 * a new id, and for a ring buffer dynptr a reference, taken at this instruction, unless it is a clone's
 * (`cloneRef`: the parent's, shared).
 */
export function makeDynptr(
  env: Env,
  st: State,
  pc: number,
  regno: number,
  reg: Reg,
  dtype: DynptrSlot['type'],
  note: (subprog: number, bytes: number) => void,
  cloneRef = 0,
): DynptrUse {
  const spi = spiOf(reg);
  // is_dynptr_reg_valid_uninit: only a slot past the frame's allocated stack (-ERANGE) is no error.
  if (spi === undefined) throw new Rejection(pc, 'Dynptr has to be an uninitialized dynptr');
  const frame = st.frames[reg.frame]!;
  const base = reg.off + Number(BigInt.asIntN(64, reg.s.t.value));
  for (const i of [0, 8]) {
    const off = base + i;
    if (off < -MAX_STACK || off + 8 > 0) throw new Rejection(pc, `invalid write to stack R${regno} off=${off} size=8`);
    note(frame.subprog, -off);
    const k = Math.floor((-off - 1) / 8);
    sliceBufferWrite(env, st, pc, reg.frame, off, 8, false);
    destroyDynptr(st, pc, frame, k);
    writableStack(frame).set(k, { bytes: new Array<ByteType>(8).fill(ByteType.Misc) });
    env.stackWrite?.(reg.frame, k);
  }
  const id = newId(env);
  let ref = cloneRef;
  if (dtype === 'ringbuf' && !ref) {
    ref = newId(env);
    st.refs.set(ref, pc);
  }
  const bytes = new Array<ByteType>(8).fill(ByteType.Dynptr);
  const stack = writableStack(frame);
  stack.set(spi, { bytes, dynptr: { type: dtype, first: true, id, ref } });
  stack.set(spi - 1, { bytes, dynptr: { type: dtype, first: false, id, ref } });
  return { id, type: dtype, ref };
}

/**
 * destroy_if_dynptr_stack_slot: a store reaching slot `k` of `frame`, which holds part of a dynptr. A
 * ring buffer dynptr may not be overwritten; a local one is gone, both slots, and its slices with it.
 */
export function destroyDynptr(st: State, pc: number, frame: Frame, k: number): void {
  const d = frame.stack.get(k)?.dynptr;
  if (!d) return;
  if (d.type === 'ringbuf') throw new Rejection(pc, 'cannot overwrite referenced dynptr');
  const first = d.first ? k : k + 1;
  const stack = writableStack(frame);
  stack.delete(first);
  stack.delete(first - 1);
  killSlices(st, d.id);
}

/** Slices of dynptr `id` (mem, maybe NULL) become unknown scalars (mark_reg_invalid, privileged). */
function killSlices(st: State, id: number): void {
  forEachReg(st, (r) => (r.kind === 'mem' && r.dynptr === id ? UNKNOWN_SCALAR : r));
}

/**
 * After a release helper gave reference `ref` back (its registers are scalars already): the dynptrs
 * that held it are gone too (unmark_stack_slots_dynptr), both slots of each.
 */
export function releaseDynptrSlots(st: State, ref: number): void {
  for (const f of st.frames) {
    for (const [k, slot] of f.stack) {
      if (slot.dynptr?.ref !== ref) continue;
      writableStack(f).delete(k);
    }
  }
}

/**
 * A load of `size` bytes at `off` from a slot that may hold dynptr bytes (check_stack_read_fixed_off):
 * instructions may not read them.
 */
export function checkDynptrLoad(pc: number, slot: Slot | undefined, first: number, off: number, size: number): void {
  if (!slot?.dynptr) return;
  for (let i = 0; i < size; i++)
    if (slot.bytes[first + i] === ByteType.Dynptr)
      throw new Rejection(pc, `invalid read from stack off ${off}+${i} size ${size}`);
}

/**
 * A helper's memory argument on the stack, `size` bytes from `off` (check_stack_range_initialized): a
 * helper that writes there (raw mode) may not write over a dynptr; one that reads may not read one.
 */
export function checkDynptrHelperMem(
  pc: number,
  regno: number,
  frame: Frame,
  off: number,
  size: number,
  write: boolean,
): void {
  if (size <= 0) return;
  // Slot by slot (a dynptr fills its slots whole): the first byte reached is the lower of the access's
  // start and the slot's.
  // From the lowest address up, as the kernel scans the bytes: the slot of `off` first.
  for (let k = Math.floor((-off - 1) / 8); k >= Math.floor((-(off + size - 1) - 1) / 8); k--) {
    if (!frame.stack.get(k)?.dynptr) continue;
    const b = Math.max(off, -(k + 1) * 8);
    if (write) throw new Rejection(pc, `potential write to dynptr at off=${b} disallowed`);
    throw new Rejection(pc, `invalid read from stack R${regno} off ${off}+${b - off} size ${size}`);
  }
}

/** Does any stack byte in [lo, hi) of `frame` belong to a dynptr? */
export function touchesDynptr(frame: Frame, lo: number, hi: number): boolean {
  if (hi <= lo) return false;
  for (let k = Math.floor((-(hi - 1) - 1) / 8); k <= Math.floor((-lo - 1) / 8); k++)
    if (frame.stack.get(k)?.dynptr) return true;
  return false;
}
