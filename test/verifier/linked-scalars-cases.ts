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
];
