/**
 * Programs for Linux 6.18's cap on linked scalars (src/verifier/linked-regs.ts): a conditional jump links
 * at most six scalars of an operand's id (MAX_LINKED_REGS), taken innermost frame first, in each frame the
 * live registers r0-r9 then the spilled slots from fp-8 down; one that does not fit loses its id and
 * learns nothing. Each program copies a value, compares one copy, then checks each copy it means to in
 * turn: `if rN <= K` skips a read of the never-written r9, which only a copy that did not learn the
 * bound reaches, so the instruction the kernel refuses at names the first copy left out. Verdict,
 * instruction, last line and "processed N insns" are the running Linux 6.18's (log level 4), recorded;
 * as root linked-scalars.test.ts asks the kernel again.
 */
import { ProgType } from '../../src/uapi/types.js';
import type { LinkedCase } from './linked-scalars-cases.js';

const R9 = { re: /^R9 !read_ok$/ };
/** r9 holds one of the copies: reading through it is a scalar dereference. */
const R9_SCALAR = { re: /^R9 invalid mem access 'scalar'$/ };

/** The cases. */
export const LINKED_CAP_CASES: LinkedCase[] = [
  {
    name: 'seven copies r0-r6, r0 compared: r6, the seventh, keeps its bounds',
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  r4 = r0
  r5 = r0
  r6 = r0
  if r0 > 8 goto out
  if r1 <= 8 goto c0
  r0 = *(u64 *)(r9 + 0)
  c0:
  if r2 <= 8 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r3 <= 8 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  if r4 <= 8 goto c3
  r0 = *(u64 *)(r9 + 0)
  c3:
  if r5 <= 8 goto c4
  r0 = *(u64 *)(r9 + 0)
  c4:
  if r6 <= 8 goto c5
  r0 = *(u64 *)(r9 + 0)
  c5:
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 20, ...R9 },
    processed: 16,
  },
  {
    name: 'dead copies do not count: of seven copies four are dead after the jump, the three live ones learn',
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  r4 = r0
  r5 = r0
  r6 = r0
  if r6 > 8 goto out
  if r6 <= 8 goto c0
  r0 = *(u64 *)(r9 + 0)
  c0:
  if r0 <= 8 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r1 <= 8 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 16,
  },
  {
    name: 'seven copies, the seventh compared: its own id is cleared, so no copy learns',
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  r4 = r0
  r5 = r0
  r6 = r0
  if r6 > 8 goto out
  if r6 <= 8 goto c0
  r0 = *(u64 *)(r9 + 0)
  c0:
  if r0 <= 8 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r1 <= 8 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  if r2 <= 8 goto c3
  r0 = *(u64 *)(r9 + 0)
  c3:
  if r3 <= 8 goto c4
  r0 = *(u64 *)(r9 + 0)
  c4:
  if r4 <= 8 goto c5
  r0 = *(u64 *)(r9 + 0)
  c5:
  if r5 <= 8 goto c6
  r0 = *(u64 *)(r9 + 0)
  c6:
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 12, ...R9 },
    processed: 12,
  },
  {
    name: 'seven copies, r5 compared: r6 keeps its bounds',
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  r4 = r0
  r5 = r0
  r6 = r0
  if r5 > 8 goto out
  if r0 <= 8 goto c0
  r0 = *(u64 *)(r9 + 0)
  c0:
  if r1 <= 8 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r2 <= 8 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  if r3 <= 8 goto c3
  r0 = *(u64 *)(r9 + 0)
  c3:
  if r4 <= 8 goto c4
  r0 = *(u64 *)(r9 + 0)
  c4:
  if r5 <= 8 goto c5
  r0 = *(u64 *)(r9 + 0)
  c5:
  if r6 <= 8 goto c6
  r0 = *(u64 *)(r9 + 0)
  c6:
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 22, ...R9 },
    processed: 17,
  },
  {
    name: 'eight copies, r3 compared: r6 and r7 keep theirs',
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  r4 = r0
  r5 = r0
  r6 = r0
  r7 = r0
  if r3 > 8 goto out
  if r0 <= 8 goto c0
  r0 = *(u64 *)(r9 + 0)
  c0:
  if r1 <= 8 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r2 <= 8 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  if r3 <= 8 goto c3
  r0 = *(u64 *)(r9 + 0)
  c3:
  if r4 <= 8 goto c4
  r0 = *(u64 *)(r9 + 0)
  c4:
  if r5 <= 8 goto c5
  r0 = *(u64 *)(r9 + 0)
  c5:
  if r7 <= 8 goto c6
  r0 = *(u64 *)(r9 + 0)
  c6:
  if r6 <= 8 goto c7
  r0 = *(u64 *)(r9 + 0)
  c7:
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 23, ...R9 },
    processed: 18,
  },
  {
    name: 'four registers, then spills at fp-8, fp-16, fp-24: fp-24 is the seventh',
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  *(u64 *)(r10 - 8) = r0
  *(u64 *)(r10 - 16) = r0
  *(u64 *)(r10 - 24) = r0
  if r0 > 8 goto out
  if r0 <= 8 goto c0
  r0 = *(u64 *)(r9 + 0)
  c0:
  if r1 <= 8 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r2 <= 8 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  if r3 <= 8 goto c3
  r0 = *(u64 *)(r9 + 0)
  c3:
  r8 = *(u64 *)(r10 - 8)
  if r8 <= 8 goto c4
  r0 = *(u64 *)(r9 + 0)
  c4:
  r8 = *(u64 *)(r10 - 16)
  if r8 <= 8 goto c5
  r0 = *(u64 *)(r9 + 0)
  c5:
  r8 = *(u64 *)(r10 - 24)
  if r8 <= 8 goto c6
  r0 = *(u64 *)(r9 + 0)
  c6:
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 25, ...R9 },
    processed: 20,
  },
  {
    name: 'the same spills written from fp-24 up: slot order, not write order',
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  *(u64 *)(r10 - 24) = r0
  *(u64 *)(r10 - 16) = r0
  *(u64 *)(r10 - 8) = r0
  if r0 > 8 goto out
  if r0 <= 8 goto c0
  r0 = *(u64 *)(r9 + 0)
  c0:
  if r1 <= 8 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r2 <= 8 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  if r3 <= 8 goto c3
  r0 = *(u64 *)(r9 + 0)
  c3:
  r8 = *(u64 *)(r10 - 8)
  if r8 <= 8 goto c4
  r0 = *(u64 *)(r9 + 0)
  c4:
  r8 = *(u64 *)(r10 - 16)
  if r8 <= 8 goto c5
  r0 = *(u64 *)(r9 + 0)
  c5:
  r8 = *(u64 *)(r10 - 24)
  if r8 <= 8 goto c6
  r0 = *(u64 *)(r9 + 0)
  c6:
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 25, ...R9 },
    processed: 20,
  },
  {
    name: 'two registers and five spills: fp-40 keeps its bounds',
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  *(u64 *)(r10 - 8) = r0
  *(u64 *)(r10 - 16) = r0
  *(u64 *)(r10 - 24) = r0
  *(u64 *)(r10 - 32) = r0
  *(u64 *)(r10 - 40) = r0
  if r0 > 8 goto out
  if r0 <= 8 goto c0
  r0 = *(u64 *)(r9 + 0)
  c0:
  if r1 <= 8 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  r8 = *(u64 *)(r10 - 8)
  if r8 <= 8 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  r8 = *(u64 *)(r10 - 16)
  if r8 <= 8 goto c3
  r0 = *(u64 *)(r9 + 0)
  c3:
  r8 = *(u64 *)(r10 - 24)
  if r8 <= 8 goto c4
  r0 = *(u64 *)(r9 + 0)
  c4:
  r8 = *(u64 *)(r10 - 32)
  if r8 <= 8 goto c5
  r0 = *(u64 *)(r9 + 0)
  c5:
  r8 = *(u64 *)(r10 - 40)
  if r8 <= 8 goto c6
  r0 = *(u64 *)(r9 + 0)
  c6:
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 27, ...R9 },
    processed: 22,
  },
  {
    name: 'r9 comes before every spilled slot: fp-40 keeps its bounds',
    text: `
  call 7
  r0 &= 0xffff
  r9 = r0
  *(u64 *)(r10 - 8) = r0
  *(u64 *)(r10 - 16) = r0
  *(u64 *)(r10 - 24) = r0
  *(u64 *)(r10 - 32) = r0
  *(u64 *)(r10 - 40) = r0
  if r9 > 8 goto out
  if r0 <= 8 goto c0
  r0 = *(u64 *)(r9 + 0)
  c0:
  if r9 <= 8 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  r8 = *(u64 *)(r10 - 8)
  if r8 <= 8 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  r8 = *(u64 *)(r10 - 16)
  if r8 <= 8 goto c3
  r0 = *(u64 *)(r9 + 0)
  c3:
  r8 = *(u64 *)(r10 - 24)
  if r8 <= 8 goto c4
  r0 = *(u64 *)(r9 + 0)
  c4:
  r8 = *(u64 *)(r10 - 32)
  if r8 <= 8 goto c5
  r0 = *(u64 *)(r9 + 0)
  c5:
  r8 = *(u64 *)(r10 - 40)
  if r8 <= 8 goto c6
  r0 = *(u64 *)(r9 + 0)
  c6:
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 27, ...R9_SCALAR },
    processed: 22,
  },
  {
    name: 'a += K copy as the seventh keeps its bounds',
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  r4 = r0
  r5 = r0
  r6 = r0
  r6 += 3
  if r0 > 8 goto out
  if r0 <= 8 goto c0
  r0 = *(u64 *)(r9 + 0)
  c0:
  if r1 <= 8 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r2 <= 8 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  if r3 <= 8 goto c3
  r0 = *(u64 *)(r9 + 0)
  c3:
  if r4 <= 8 goto c4
  r0 = *(u64 *)(r9 + 0)
  c4:
  if r5 <= 8 goto c5
  r0 = *(u64 *)(r9 + 0)
  c5:
  if r6 <= 11 goto c6
  r0 = *(u64 *)(r9 + 0)
  c6:
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 23, ...R9 },
    processed: 18,
  },
  {
    name: 'a += K copy compared as the seventh: nothing learns',
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  r4 = r0
  r5 = r0
  r6 = r0
  r6 += 3
  if r6 > 11 goto out
  if r6 <= 11 goto c0
  r0 = *(u64 *)(r9 + 0)
  c0:
  if r0 <= 8 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r1 <= 8 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  if r2 <= 8 goto c3
  r0 = *(u64 *)(r9 + 0)
  c3:
  if r3 <= 8 goto c4
  r0 = *(u64 *)(r9 + 0)
  c4:
  if r4 <= 8 goto c5
  r0 = *(u64 *)(r9 + 0)
  c5:
  if r5 <= 8 goto c6
  r0 = *(u64 *)(r9 + 0)
  c6:
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 13, ...R9 },
    processed: 13,
  },
  {
    name: 'a += K copy compared among the six: the others learn, shifted; r6 keeps its bounds',
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  r4 = r0
  r5 = r0
  r6 = r0
  r1 += 3
  if r1 > 11 goto out
  if r0 <= 8 goto c0
  r0 = *(u64 *)(r9 + 0)
  c0:
  if r1 <= 11 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r2 <= 8 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  if r3 <= 8 goto c3
  r0 = *(u64 *)(r9 + 0)
  c3:
  if r4 <= 8 goto c4
  r0 = *(u64 *)(r9 + 0)
  c4:
  if r5 <= 8 goto c5
  r0 = *(u64 *)(r9 + 0)
  c5:
  if r6 <= 8 goto c6
  r0 = *(u64 *)(r9 + 0)
  c6:
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 23, ...R9 },
    processed: 18,
  },
  {
    name: 'a w += K copy as the seventh keeps its bounds',
    text: `
  call 7
  r0 &= 0xffff
  w1 = w0
  w2 = w0
  w3 = w0
  w4 = w0
  w5 = w0
  w6 = w0
  w6 += 3
  if w0 > 8 goto out
  if w6 <= 11 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  r0 = r1
  r0 = r2
  r0 = r3
  r0 = r4
  r0 = r5
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 11, ...R9 },
    processed: 12,
  },
  {
    name: 'a 32-bit compare has the same cap',
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  r4 = r0
  r5 = r0
  r6 = r0
  if w0 > 8 goto out
  if r5 <= 8 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r6 <= 8 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  r0 = r1
  r0 = r2
  r0 = r3
  r0 = r4
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 12, ...R9 },
    processed: 12,
  },
  {
    name: 'a += K copy that lost its id loses its delta too: copied and added to, it is shifted by the new delta only',
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  r4 = r0
  r5 = r0
  r6 = r0
  r6 += 5
  if r0 > 0x100 goto out
  r7 = r6
  r7 += 1
  if r7 > 10 goto out
  if r6 <= 9 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r6 >= 10 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  r0 = r1
  r0 += r2
  r0 += r3
  r0 += r4
  r0 += r5
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 16, ...R9 },
    processed: 16,
  },
  {
    name: 'a += K copy that lost its id starts a new group at delta 0',
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  r4 = r0
  r5 = r0
  r6 = r0
  r6 += 3
  if r0 > 8 goto out
  r7 = r6
  if r6 > 11 goto out
  if r7 <= 11 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r7 >= 3 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  r0 = r1
  r0 = r2
  r0 = r3
  r0 = r4
  r0 = r5
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 23,
  },
  {
    name: "across a call: the callee's four first, then the caller's r6 and r7; its r8 keeps its bounds",
    text: `
  call 7
  r0 &= 0xffff
  r6 = r0
  r7 = r0
  r8 = r0
  r1 = r0
  call sub
  if r0 != 0 goto mout
  if r6 <= 8 goto m1
  r0 = *(u64 *)(r9 + 0)
  m1:
  if r7 <= 8 goto m2
  r0 = *(u64 *)(r9 + 0)
  m2:
  if r8 <= 8 goto m3
  r0 = *(u64 *)(r9 + 0)
  m3:
  mout:
  r0 = 0
  exit
  sub:
  r2 = r1
  r3 = r1
  r4 = r1
  if r1 > 8 goto sout
  if r2 <= 8 goto s1
  r0 = *(u64 *)(r9 + 0)
  s1:
  if r3 <= 8 goto s2
  r0 = *(u64 *)(r9 + 0)
  s2:
  if r4 <= 8 goto s3
  r0 = *(u64 *)(r9 + 0)
  s3:
  r0 = 0
  exit
  sout:
  r0 = 1
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 13, ...R9 },
    processed: 21,
  },
  {
    name: "across a call: the caller's spilled fp-8 comes after its registers and keeps its bounds",
    text: `
  call 7
  r0 &= 0xffff
  r6 = r0
  r7 = r0
  *(u64 *)(r10 - 8) = r0
  r1 = r0
  call sub
  if r0 != 0 goto mout
  if r6 <= 8 goto m1
  r0 = *(u64 *)(r9 + 0)
  m1:
  if r7 <= 8 goto m2
  r0 = *(u64 *)(r9 + 0)
  m2:
  r8 = *(u64 *)(r10 - 8)
  if r8 <= 8 goto m3
  r0 = *(u64 *)(r9 + 0)
  m3:
  mout:
  r0 = 0
  exit
  sub:
  r2 = r1
  r3 = r1
  r4 = r1
  if r1 > 8 goto sout
  if r2 <= 8 goto s1
  r0 = *(u64 *)(r9 + 0)
  s1:
  if r3 <= 8 goto s2
  r0 = *(u64 *)(r9 + 0)
  s2:
  if r4 <= 8 goto s3
  r0 = *(u64 *)(r9 + 0)
  s3:
  r0 = 0
  exit
  sout:
  r0 = 1
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 14, ...R9 },
    processed: 22,
  },
  {
    name: "in a callback: its caller's r1 (bpf_loop's count, live at the call) counts; the caller's fp-8 keeps its bounds",
    text: `
  call 7
  r0 &= 7
  r6 = r0
  r7 = r0
  r8 = r0
  *(u64 *)(r10 - 8) = r0
  r1 = r0
  r2 = func cb
  r3 = r10
  r3 += -8
  r4 = 0
  call 181
  r0 = r6
  r0 = r7
  r0 = r8
  r0 = 0
  exit
  cb:
  r3 = *(u64 *)(r2 + 0)
  r4 = r3
  if r3 > 5 goto cout
  if r4 <= 5 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  r5 = *(u64 *)(r2 + 0)
  if r5 <= 5 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  cout:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 25, ...R9 },
    processed: 24,
    funcInfo: true,
  },
  {
    name: "the same with the caller's r8 dead after the call: fp-8 fits and learns",
    text: `
  call 7
  r0 &= 7
  r6 = r0
  r7 = r0
  r8 = r0
  *(u64 *)(r10 - 8) = r0
  r1 = r0
  r2 = func cb
  r3 = r10
  r3 += -8
  r4 = 0
  call 181
  r0 = r6
  r0 = r7
  r0 = 0
  exit
  cb:
  r3 = *(u64 *)(r2 + 0)
  r4 = r3
  if r3 > 5 goto cout
  if r4 <= 5 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  r5 = *(u64 *)(r2 + 0)
  if r5 <= 5 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  cout:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 28,
    funcInfo: true,
  },
  {
    name: "two groups share the list, the source's first: six of them fill it, so the destination's copy learns nothing",
    text: `
  call 7
  r0 &= 7
  r6 = r0
  r7 = r0
  *(u64 *)(r10 - 8) = r0
  *(u64 *)(r10 - 16) = r0
  *(u64 *)(r10 - 24) = r0
  *(u64 *)(r10 - 32) = r0
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  if r1 > r6 goto out
  if r1 <= 7 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r2 <= 7 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  r0 = r7
  r0 = *(u64 *)(r10 - 8)
  r0 = *(u64 *)(r10 - 16)
  r0 = *(u64 *)(r10 - 24)
  r0 = *(u64 *)(r10 - 32)
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 16, ...R9 },
    processed: 16,
  },
  {
    name: "two groups, two and five: the destination's fifth keeps its bounds",
    text: `
  call 7
  r0 &= 7
  r6 = r0
  r7 = r0
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  r4 = r0
  r5 = r0
  if r1 > r6 goto out
  if r4 <= 7 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r5 <= 7 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  r0 = r7
  r0 = r2
  r0 = r3
  r0 = r0
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 15, ...R9 },
    processed: 15,
  },
  {
    name: 'a group compared with itself is collected twice: of four copies the last two lose their ids',
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  if r1 > r2 goto out
  if r0 > 8 goto out
  if r1 <= 8 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r2 <= 8 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  if r3 <= 8 goto c3
  r0 = *(u64 *)(r9 + 0)
  c3:
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 10, ...R9 },
    processed: 10,
  },
  {
    name: 'three copies compared with themselves: six entries, all fit',
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  if r1 > r2 goto out
  if r0 > 8 goto out
  if r1 <= 8 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r2 <= 8 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 14,
  },
  {
    name: "a compare with a pointer collects the scalar's group too: r6 lost its id there",
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  r4 = r0
  r5 = r0
  r6 = r0
  if r0 > r10 goto out
  r7 = r5
  r5 = 0
  if r0 > 8 goto out
  if r4 <= 8 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r6 <= 8 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  r0 = r1
  r0 = r2
  r0 = r3
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { pc: 15, ...R9 },
    processed: 15,
  },
  {
    name: 'without that compare r6 is the sixth live copy and learns',
    text: `
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  r4 = r0
  r5 = r0
  r6 = r0
  r5 = 0
  if r0 > 8 goto out
  if r4 <= 8 goto c1
  r0 = *(u64 *)(r9 + 0)
  c1:
  if r6 <= 8 goto c2
  r0 = *(u64 *)(r9 + 0)
  c2:
  r0 = r1
  r0 = r2
  r0 = r3
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 19,
  },
  {
    name: 'pruning: r6 lost its id at the jump, so marking r5 precise leaves r6 imprecise at j and the second path stops there',
    text: `
  call 7
  r7 = r0
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  r4 = r0
  r5 = r0
  if r7 > 5 goto b
  r6 = r0
  goto j
  b:
  r6 = r0
  r6 &= 0xff
  j:
  *(u64 *)(r10 - 8) = 0
  *(u64 *)(r10 - 16) = 0
  if r0 > 8 goto out
  r8 = r10
  r8 += -16
  r8 += r5
  r0 = *(u8 *)(r8 + 0)
  r0 = r6
  r0 = r1
  r0 = r2
  r0 = r3
  r0 = r4
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 43,
  },
  {
    name: 'pruning: with six copies r6 is linked, precise at j, and the second path goes on',
    text: `
  call 7
  r7 = r0
  call 7
  r0 &= 0xffff
  r1 = r0
  r2 = r0
  r3 = r0
  r4 = r0
  r5 = r0
  if r7 > 5 goto b
  r6 = r0
  goto j
  b:
  r6 = r0
  r6 &= 0xff
  j:
  *(u64 *)(r10 - 8) = 0
  *(u64 *)(r10 - 16) = 0
  if r0 > 8 goto out
  r8 = r10
  r8 += -16
  r8 += r5
  r0 = *(u8 *)(r8 + 0)
  r0 = r6
  r0 = r1
  r0 = r2
  r0 = r3
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 41,
  },
  {
    name: 'a jump its operands decide links nothing for backtracking: r6 stays imprecise and the second path stops at j',
    text: `
  call 7
  r7 = r0
  call 7
  r0 &= 7
  r1 = r0
  r6 = r0
  if r7 > 5 goto b
  r6 = r0
  goto j
  b:
  r6 = r0
  r6 &= 3
  j:
  if r1 > 100 goto out
  *(u64 *)(r10 - 8) = 0
  *(u64 *)(r10 - 16) = 0
  r8 = r10
  r8 += -16
  r8 += r1
  r0 = *(u8 *)(r8 + 0)
  r0 = r6
  out:
  r0 = 0
  exit`,
    type: ProgType.SCHED_CLS,
    want: { ok: true },
    processed: 22,
  },
];
