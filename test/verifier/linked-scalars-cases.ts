/**
 * Programs that isolate the kernel's linked-scalar rules: a scalar spilled to the stack and filled back
 * (check_stack_write_fixed_off, check_stack_read_fixed_off), and registers linked by a copy or a copy
 * plus a constant (BPF_ADD_CONST, sync_linked_regs). Each ends in a branch that only a linked register
 * makes dead: the dead side reads the never-written r9, so a verifier that knows less refuses there.
 * Verdict, instruction, last line and "processed N insns" are Linux 6.18's (log level 4), recorded; as
 * root the test asks the running kernel again (linked-scalars.test.ts).
 */
import { ProgType } from '../../src/uapi/types.js';
import type { Want } from './expect.js';

/** One program (a tc classifier) and what the kernel says of it. */
export interface LinkedCase {
  name: string;
  text: string;
  type: number;
  want: Want;
  /** The kernel's "processed N insns". */
  processed: number;
  /** The program has subprograms called as callbacks: loaded with BTF func_info (one function each). */
  funcInfo?: boolean;
}

/** r0: a random value of at most 16 bits (not a constant, so copies of it get linked). */
const RANDOM16 = `
  call 7
  r0 &= 0xffff`;

/** The end of every case: `bad` reads r9, which nothing wrote; `out` exits. */
const TAIL = `
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`;

const R9 = { re: /^R9 !read_ok$/ };
const DIV0 = { re: /^div by zero$/ };

/** The cases. */
export const LINKED_CASES: LinkedCase[] = [
  // A 4-, 2- or 1-byte spill of a value that fits, filled back at its size: the fill is linked to the
  // spilled register (the spill gave both an id), so `r1 <= 10` teaches r0 the same.
  {
    name: 'u32 spill and fill of a 16-bit value: the fill is linked to the spilled register',
    text: `${RANDOM16}
  *(u32 *)(r10 - 8) = r0
  r1 = *(u32 *)(r10 - 8)
  if r1 > 10 goto out
  if r0 <= 10 goto out${TAIL}`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  {
    name: 'u16 spill and fill of a 16-bit value: linked',
    text: `${RANDOM16}
  *(u16 *)(r10 - 8) = r0
  r1 = *(u16 *)(r10 - 8)
  if r1 > 10 goto out
  if r0 <= 10 goto out${TAIL}`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  {
    name: 'u8 spill and fill of an 8-bit value: linked',
    text: `
  call 7
  r0 &= 0xff
  *(u8 *)(r10 - 8) = r0
  r1 = *(u8 *)(r10 - 8)
  if r1 > 10 goto out
  if r0 <= 10 goto out${TAIL}`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  {
    name: 'u64 spill, u32 fill of a value that fits 32 bits: linked',
    text: `${RANDOM16}
  *(u64 *)(r10 - 8) = r0
  r1 = *(u32 *)(r10 - 8)
  if r1 > 10 goto out
  if r0 <= 10 goto out${TAIL}`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  {
    name: 'u64 spill, u32 fill of a 40-bit value: the narrowing fill is not linked',
    text: `
  call 7
  r0 <<= 8
  *(u64 *)(r10 - 8) = r0
  r1 = *(u32 *)(r10 - 8)
  if r1 > 10 goto out
  if r0 <= 10 goto out${TAIL}`,
    type: ProgType.SCHED_CLS,
    want: { pc: 6, ...R9 },
    processed: 7,
  },
  {
    name: 'u32 spill of any u32, s32 fill: not linked (the fill may differ from the register)',
    text: `
  call 7
  *(u32 *)(r10 - 8) = r0
  r1 = *(s32 *)(r10 - 8)
  if r1 s> 10 goto out
  if r0 s<= 10 goto out${TAIL}`,
    type: ProgType.SCHED_CLS,
    want: { pc: 5, ...R9 },
    processed: 6,
  },
  {
    name: 'u64 spill of a 16-bit value, s16 fill: not linked',
    text: `${RANDOM16}
  *(u64 *)(r10 - 8) = r0
  r1 = *(s16 *)(r10 - 8)
  if r1 s> 10 goto out
  if r1 s< 0 goto out
  if r0 <= 10 goto out${TAIL}`,
    type: ProgType.SCHED_CLS,
    want: { pc: 7, ...R9 },
    processed: 8,
  },
  // BPF_ADD_CONST: r1 = r0 + 3 stays linked to r0, 3 apart, through 64- and 32-bit compares of r0.
  {
    name: 'r1 = r0; r1 += 3: a compare of r0 bounds r1, 3 more',
    text: `${RANDOM16}
  r1 = r0
  r1 += 3
  if r0 > 10 goto out
  if r1 <= 13 goto out${TAIL}`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  {
    name: 'r1 = r0; r1 += 3: a 32-bit compare of r0 bounds r1 too',
    text: `${RANDOM16}
  r1 = r0
  r1 += 3
  if w0 > 10 goto out
  if r1 <= 13 goto out${TAIL}`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  // A spill gives the register a fresh id when it is linked K apart (assign_scalar_id_before_mov): the
  // register and the slot leave r0's group, and a compare of r0 teaches neither.
  {
    name: 'r1 = r0 + 1 spilled whole: the filled copy is no longer linked to r0',
    text: `${RANDOM16}
  r1 = r0
  r1 += 1
  *(u64 *)(r10 - 8) = r1
  if r0 > 10 goto out
  r2 = *(u64 *)(r10 - 8)
  if r2 <= 11 goto out${TAIL}`,
    type: ProgType.SCHED_CLS,
    want: { pc: 8, ...R9 },
    processed: 9,
  },
  {
    name: 'r1 = r0 + 1 spilled whole: r1 itself is no longer linked to r0',
    text: `${RANDOM16}
  r1 = r0
  r1 += 1
  *(u64 *)(r10 - 8) = r1
  if r0 > 10 goto out
  if r1 <= 11 goto out${TAIL}`,
    type: ProgType.SCHED_CLS,
    want: { pc: 7, ...R9 },
    processed: 8,
  },
  // Linux 6.18's BPF_ADD_CONST (with its stable fixes): `-= K` and negative K link too, and so does a
  // 32-bit `w1 += K` of a register that held at most 32 bits (BPF_ADD_CONST32, K apart modulo 2^32); a
  // 32-bit and a 64-bit member are never shifted into each other.
  {
    name: 'w1 = w0; w1 += 3 (BPF_ADD_CONST32): a compare of w0 bounds w1, 3 more',
    text: `
  call 7
  r0 &= 0xffff
  w1 = w0
  w1 += 3
  if w0 > 10 goto out
  if w1 <= 13 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  {
    name: 'w1 = w0; w1 += 3: a 64-bit compare of r0 bounds r1 too',
    text: `
  call 7
  r0 &= 0xffff
  w1 = w0
  w1 += 3
  if r0 > 10 goto out
  if r1 <= 13 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  {
    name: 'r1 = r0; r1 += -3: a negative delta links too',
    text: `
  call 7
  r0 &= 0xffff
  r0 += 100
  r1 = r0
  r1 += -3
  if r0 > 110 goto out
  if r1 <= 107 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  {
    name: 'r1 = r0; r1 -= 3 links, -3 apart',
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  r1 -= 3
  if r0 > 10 goto out
  if r1 s<= 7 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  {
    name: 'r1 += S32_MIN links',
    text: `
  call 7
  r1 = r0
  r1 += -0x80000000
  r2 = -0x80000000
  if r1 != r2 goto out
  if r0 == 0 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  {
    name: 'w1 -= S32_MIN unlinks (its negation overflows)',
    text: `
  call 7
  w1 = w0
  w1 -= -0x80000000
  if w1 != 0x7fffffff goto out
  if w0 == 0 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 5, ...R9 },
    processed: 6,
  },
  {
    name: 'a second addition after r1 -= 3 unlinks',
    text: `
  call 7
  r1 = r0
  r1 -= 3
  r1 += 3
  if r1 != 5 goto out
  if r0 == 5 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 6, ...R9 },
    processed: 7,
  },
  {
    name: 'w1 = w0; w1 += 0x7fffffff: a signed 32-bit compare of w1 bounds w0',
    text: `
  call 7
  w0 &= 0xff
  w1 = w0
  w1 += 0x7FFFFFFF
  if w1 s>= 0 goto l0
  if w0 != 0 goto l0
  r0 /= 0
  l0:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  {
    name: 'r1 = r0 of a 64-bit value; w1 += 1 does not link (r1 may hold more than 32 bits)',
    text: `
  call 7
  r1 = r0
  w1 += 1
  if r1 > 10 goto l0
  r0 >>= 32
  if r0 == 0 goto l0
  r0 /= 0
  l0:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 6, ...DIV0 },
    processed: 7,
  },
  {
    name: 'r1 = r0 + 1 of any 64-bit r0: r1 <= 5 lets r0 be -1',
    text: `
  call 7
  r1 = r0
  r1 += 1
  if r1 > 5 goto out
  if r0 <= 4 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 5, ...R9 },
    processed: 6,
  },
  {
    name: 'w-linked K apart: a compare of the 32-bit member teaches the plain one',
    text: `
  call 7
  r0 &= 0xff
  r1 = r0
  w1 += 1
  if r1 != 5 goto out
  if r0 == 4 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  {
    name: 'a 32-bit link that wraps: the plain member learns its value zero-extended',
    text: `
  call 7
  w0 |= 0xffffff00
  r1 = r0
  w1 += 0x100
  if r1 > 0x80 goto l0
  r2 = r0
  r2 >>= 32
  if r2 == 0 goto l0
  r0 /= 0
  l0:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 12,
  },
  {
    name: 'the 32-bit member learns a wrapped value, zero-extended',
    text: `
  call 7
  w6 = w0
  r7 = r6
  w7 += 1
  r8 = 0xffffffff ll
  if r6 != r8 goto out
  if r7 == 0 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  {
    name: 'two 32-bit members: one teaches the other',
    text: `
  call 7
  w6 = w0
  r7 = r6
  w7 += 1
  r8 = r6
  w8 += 1
  if r7 != 5 goto out
  if r8 == 5 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 12,
  },
  {
    name: 'two 32-bit members at different deltas: shifted',
    text: `
  call 7
  w6 = w0
  r7 = r6
  w7 += 1
  r8 = r6
  w8 += 2
  if r7 != 5 goto out
  if r8 == 6 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 12,
  },
  {
    name: 'a 32-bit member does not teach a 64-bit one, even at the same delta',
    text: `
  call 7
  w6 = w0
  r7 = r6
  w7 += 1
  r8 = r6
  r8 += 1
  if r7 != 5 goto out
  if r8 == 5 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 8, ...R9 },
    processed: 9,
  },
  {
    name: 'a 64-bit member does not teach a 32-bit one',
    text: `
  call 7
  w6 = w0
  r7 = r6
  w7 += 1
  r8 = r6
  r8 += 2
  if r8 != 6 goto out
  if r7 == 5 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 8, ...R9 },
    processed: 9,
  },
  {
    name: 'r6 += r6 of a linked register unlinks it',
    text: `
  call 7
  r6 = r0
  r7 = r6
  call 7
  r8 = r0
  r9 = r8
  if r7 != 1 goto lx
  r6 += r6
  if r7 == r9 goto lx
  if r6 == 3 goto lx
  r0 /= 0
  lx:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 10, ...DIV0 },
    processed: 11,
  },
  {
    name: 'a register unlinked after += K starts a new group at delta 0',
    text: `
  call 7
  r6 = r0
  r6 += 5
  r6 ^= 0
  r8 = r6
  r8 += 3
  r9 = r6
  if r9 != 10 goto lx
  if r8 == 8 goto lx
  r0 /= 0
  lx:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 9, ...DIV0 },
    processed: 10,
  },
  {
    name: 'the same in 32 bits',
    text: `
  call 7
  w6 = w0
  w6 += 5
  w6 ^= 0
  w8 = w6
  w8 += 3
  w9 = w6
  if w9 != 10 goto lx
  if w8 == 8 goto lx
  r0 /= 0
  lx:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 9, ...DIV0 },
    processed: 10,
  },
  // A sign-extending fill (BPF_MEMSX) at the spill's start and at most its size: the spilled value cut
  // and sign-extended, linked to the spilled register only when below 2^(bits-1).
  {
    name: 'u32 spill of a 16-bit value, s32 fill: linked, and bounded',
    text: `
  call 7
  r0 &= 0xffff
  *(u32 *)(r10 - 8) = r0
  r1 = *(s32 *)(r10 - 8)
  if r1 > 10 goto out
  if r0 <= 10 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  {
    name: 'u32 spill of a 16-bit value, s32 fill: the fill keeps its bounds',
    text: `
  call 7
  r0 &= 0xffff
  *(u32 *)(r10 - 8) = r0
  r1 = *(s32 *)(r10 - 8)
  if r1 <= 0xffff goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 7,
  },
  {
    name: 'u32 spill of a 31-bit value, s32 fill: linked',
    text: `
  call 7
  r0 &= 0x7fffffff
  *(u32 *)(r10 - 8) = r0
  r1 = *(s32 *)(r10 - 8)
  if r1 > 10 goto out
  if r0 <= 10 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  {
    name: 'u32 spill of a 32-bit value, s32 fill: not linked (the sign extension may change it)',
    text: `
  call 7
  w0 = w0
  *(u32 *)(r10 - 8) = r0
  r1 = *(s32 *)(r10 - 8)
  if r1 > 10 goto out
  if r0 <= 10 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 6, ...R9 },
    processed: 7,
  },
  {
    name: 'u32 spill of a value with bit 31 set, s32 fill: negative',
    text: `
  call 7
  w0 = w0
  r0 |= 0x80000000
  *(u32 *)(r10 - 8) = r0
  r1 = *(s32 *)(r10 - 8)
  if r1 s< 0 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 8,
  },
  {
    name: 'u64 spill of a value with bit 31 set, s32 fill: negative',
    text: `
  call 7
  w0 = w0
  r0 |= 0x80000000
  *(u64 *)(r10 - 8) = r0
  r1 = *(s32 *)(r10 - 8)
  if r1 s< 0 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 8,
  },
  {
    name: 'u16 spill of a 15-bit value, s16 fill: linked',
    text: `
  call 7
  r0 &= 0x7fff
  *(u16 *)(r10 - 8) = r0
  r1 = *(s16 *)(r10 - 8)
  if r1 > 10 goto out
  if r0 <= 10 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  {
    name: 'u8 spill of a value with bit 7 set, s8 fill: negative',
    text: `
  call 7
  r0 &= 0xff
  r0 |= 0x80
  *(u8 *)(r10 - 8) = r0
  r1 = *(s8 *)(r10 - 8)
  if r1 s< 0 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 8,
  },
  {
    name: 'u64 spill of a 16-bit value, s32 fill: linked',
    text: `
  call 7
  r0 &= 0xffff
  *(u64 *)(r10 - 8) = r0
  r1 = *(s32 *)(r10 - 8)
  if r1 > 10 goto out
  if r0 <= 10 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  {
    name: 'u32 spill of a 15-bit value, s16 fill: linked',
    text: `
  call 7
  r0 &= 0x7fff
  *(u32 *)(r10 - 8) = r0
  r1 = *(s16 *)(r10 - 8)
  if r1 > 10 goto out
  if r0 <= 10 goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 10,
  },
  {
    name: 'u32 spill of a 7-bit value, s8 fill: bounded',
    text: `
  call 7
  r0 &= 0x7f
  *(u32 *)(r10 - 8) = r0
  r1 = *(s8 *)(r10 - 8)
  if r1 <= 0x7f goto out
  r0 = *(u64 *)(r9 + 0)
  exit
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 7,
  },
  // regsafe and BPF_ADD_CONST: the processed count shows whether the second path was pruned at `j`.
  {
    name: 'pruning: an old r1 linked to nothing covers a current r1 linked K apart (the second path stops at j)',
    text: `
  call 7
  r6 = r0
  r6 &= 0xff
  call 7
  if r0 > 5 goto a
  r1 = r6
  r1 |= 0
  r1 += 1
  r6 = 0
  goto j
  a:
  r2 = r6
  r1 = r2
  r1 += 1
  r6 = 0
  r2 = 0
  j:
  r3 = r10
  r3 += -264
  r3 += r1
  r0 = *(u8 *)(r3 + 0)
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 22,
  },
  {
    name: 'pruning: an old r1 linked K apart does not cover a current r1 linked to nothing',
    text: `
  call 7
  r6 = r0
  r6 &= 0xff
  call 7
  if r0 > 5 goto a
  r2 = r6
  r1 = r2
  r1 += 1
  r6 = 0
  r2 = 0
  goto j
  a:
  r1 = r6
  r1 |= 0
  r1 += 1
  r6 = 0
  j:
  r3 = r10
  r3 += -264
  r3 += r1
  r0 = *(u8 *)(r3 + 0)
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 27,
  },
];
