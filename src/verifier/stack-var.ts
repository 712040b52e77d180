/**
 * Loads and stores through a stack pointer with a variable part (`fp - 16 + i`), as a privileged loader
 * may do them: the kernel's check_stack_access_within_bounds, check_stack_read_var_off (every byte the
 * access may touch is readable for root, with check_stack_range_initialized's allow_uninit_stack; the
 * result is unknown) and check_stack_write_var_off (every byte in reach becomes "anything", or stays
 * zero when a zero is written over zeros), and helper memory arguments there (varStackHelperAccess).
 * Stores that may reach part of a slot holding a spilled register
 * or zeros are left to the caller's "not modelled" refusal (the oracle's boundary programs
 * `stack-var-*` compare every case with the kernel).
 */
import { destroyDynptr, touchesDynptr } from './dynptr.js';
import { Rejection } from './reject.js';
import { ByteType, NOT_INIT, type Reg, type Slot, type State, writableStack } from './state.js';
import { tadd, tconst, tstr } from './tnum.js';

const MAX_STACK = 512;
const MAX_VAR_OFF = 1 << 29;

/**
 * Access `size` bytes at `reg + off` (off: the pointer's fixed offset plus the instruction's) where reg's
 * variable part is not a constant. A load returns what its destination becomes, a store NOT_INIT; throws
 * the kernel's refusals; undefined for what bpfkit leaves unmodelled (the caller refuses it, saying so).
 */
export function varStackAccess(
  st: State,
  pc: number,
  regno: number,
  reg: Reg,
  off: number,
  size: number,
  write: boolean,
  value: Reg | undefined,
  loaded: (size: number) => Reg,
  noteDepth: (subprog: number, bytes: number) => void,
): Reg | undefined {
  const s = reg.s;
  const what = write ? 'write to' : 'read from';
  // check_ptr_alignment: the stack is strictly aligned, the variable part counted by its tnum.
  const at = tadd(s.t, tconst(BigInt(off)));
  if (((at.value | at.mask) & BigInt(size - 1)) !== 0n)
    throw new Rejection(pc, `misaligned stack access off ${tstr(s.t)}+${reg.off}+${off - reg.off} size ${size}`);
  if (s.smax >= BigInt(MAX_VAR_OFF) || s.smin <= -BigInt(MAX_VAR_OFF))
    throw new Rejection(pc, `invalid unbounded variable-offset ${what} stack R${regno}`);
  const minOff = Number(s.smin) + off;
  const maxOff = Number(s.smax) + off + size;
  if (minOff < -MAX_STACK || minOff >= 0 || maxOff > 0)
    throw new Rejection(
      pc,
      `invalid variable-offset ${what} stack R${regno} var_off=${tstr(s.t)} off=${off} size=${size}`,
    );
  const frame = st.frames[reg.frame]!;
  const slotOf = (b: number) => Math.floor((-b - 1) / 8);
  const byteOf = (b: number, k: number) => b + (k + 1) * 8;
  if (!write) {
    // check_stack_read_var_off refuses a read that may reach a dynptr's bytes, in words bpfkit does not
    // model (the variable part's tnum): said so.
    if (touchesDynptr(frame, minOff, maxOff))
      throw new Rejection(pc, `R${regno} variable-offset read over a dynptr: bpfkit does not model it`);
    // The kernel reads a known 0 where every byte in reach is STACK_ZERO; bpfkit's zero bytes may be a
    // spilled constant 0 to the kernel (whose read is unknown), so the read is unknown here always:
    // never sharper than the kernel's.
    noteDepth(frame.subprog, -minOff);
    return loaded(size);
  }
  // check_stack_write_var_off: every slot in reach that holds part of a dynptr is destroyed first (a
  // ring buffer's refused).
  if (touchesDynptr(frame, minOff, maxOff))
    for (let b = minOff; b < maxOff; b++) destroyDynptr(st, pc, frame, slotOf(b));
  const zero = value !== undefined && value.kind === 'scalar' && isZero(value);
  // Plan every slot first: a store bpfkit cannot represent changes nothing before it is refused.
  const planned = new Map<number, Slot>();
  for (let b = minOff; b < maxOff;) {
    const k = slotOf(b);
    const slot = frame.stack.get(k);
    const bytes = (slot?.bytes ?? new Array<ByteType>(8).fill(ByteType.Invalid)).slice();
    let lo = byteOf(b, k);
    const hi = Math.min(8, lo + (maxOff - b));
    b += hi - lo;
    // A slot the store may reach only in part is modelled when it holds plain bytes: a spilled register
    // or zeros there (which may be a spilled constant to the kernel) keep a form bpfkit's slots do not
    // represent. A slot reached whole ends as "anything" either way (a zero over zeros stays zero), a
    // spilled register's too, even when a zero is written: the kernel erases it (spilled_ptr NOT_INIT,
    // every byte STACK_MISC) unless it is a scalar constant 0, whose spill a zero keeps (not modelled).
    const whole = lo === 0 && hi === 8;
    if (!whole && (slot?.spill || bytes.includes(ByteType.Zero))) return undefined;
    if (whole && slot?.spill && zero && spilledZero(slot.spill)) return undefined;
    for (; lo < hi; lo++) bytes[lo] = zero && bytes[lo] === ByteType.Zero ? ByteType.Zero : ByteType.Misc;
    planned.set(k, { bytes });
  }
  const stack = writableStack(frame);
  for (const [k, slot] of planned) stack.set(k, slot);
  noteDepth(frame.subprog, -minOff);
  return NOT_INIT;
}

/**
 * A helper's memory argument on the stack with a variable offset (check_helper_mem_access for a stack
 * pointer: check_stack_access_within_bounds, then check_stack_range_initialized byte by byte). For a
 * privileged loader every byte in reach may be uninitialised, zero, anything or part of a spilled
 * register; a helper that writes there (`write`) leaves every such byte "anything" and a spilled register
 * in reach unknown, since it may write any of them. Returns the stack offsets reached, [lo, hi), or
 * undefined for bytes bpfkit does not model there (a dynptr's, an iterator's).
 */
export function varStackHelperAccess(
  st: State,
  pc: number,
  regno: number,
  reg: Reg,
  size: number,
  write: boolean,
): { lo: number; hi: number } | undefined {
  const s = reg.s;
  // Linux 6.18 names the helper's access by its direction, as for loads and stores.
  const what = write ? 'write to' : 'read from';
  if (s.smax >= BigInt(MAX_VAR_OFF) || s.smin <= -BigInt(MAX_VAR_OFF))
    throw new Rejection(pc, `invalid unbounded variable-offset ${what} stack R${regno}`);
  const minOff = Number(s.smin) + reg.off;
  const maxOff = Number(s.smax) + reg.off + size;
  if (minOff < -MAX_STACK || minOff >= 0 || maxOff > 0)
    throw new Rejection(
      pc,
      `invalid variable-offset ${what} stack R${regno} var_off=${tstr(s.t)} off=${reg.off} size=${size}`,
    );
  const frame = st.frames[reg.frame]!;
  const planned = new Map<number, Slot>();
  for (let k = Math.floor((-minOff - 1) / 8); k >= 0 && -(k + 1) * 8 < maxOff; k--) {
    const slot = frame.stack.get(k);
    const plain = (b: ByteType) => b === ByteType.Invalid || b === ByteType.Misc || b === ByteType.Zero;
    if (slot && !slot.spill && !slot.bytes.every(plain)) return undefined;
    if (!write) continue;
    // The bytes of this slot in reach become "anything", never-written ones too (clobber); a spilled
    // register anywhere in it is scrubbed whole (scrub_spilled_slot), its bytes "anything" but those
    // never written.
    const lo = Math.max(minOff, -(k + 1) * 8) + (k + 1) * 8;
    const hi = Math.min(maxOff, -k * 8) + (k + 1) * 8;
    const bytes = !slot
      ? new Array<ByteType>(8).fill(ByteType.Invalid)
      : slot.spill
        ? slot.bytes.map((b) => (b === ByteType.Invalid ? ByteType.Invalid : ByteType.Misc))
        : slot.bytes.slice();
    for (let i = lo; i < hi; i++) bytes[i] = ByteType.Misc;
    planned.set(k, { bytes });
  }
  if (write) {
    const stack = writableStack(frame);
    for (const [k, slot] of planned) stack.set(k, slot);
  }
  return { lo: minOff, hi: maxOff };
}

const isZero = (r: Reg): boolean => r.s.t.mask === 0n && r.s.t.value === 0n;

/** A spilled register a zero store leaves spilled (check_stack_write_var_off: a scalar known to be 0). */
const spilledZero = (r: Reg): boolean => r.kind === 'scalar' && isZero(r);
