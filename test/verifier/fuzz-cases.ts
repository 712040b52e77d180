/**
 * Programs a differential fuzz campaign (every generator of this folder with new seeds, against Linux 6.18)
 * found bpfkit judging otherwise than the kernel, each minimised, with the kernel's verdict: the order in
 * which an instruction's registers are read, check_subprogs' and check_cfg's rules on odd jump and call
 * codes, the atomic operations the kernel's table knows, __update_reg64_bounds' single-value rule,
 * which may_goto state a loop is widened against, when a loop's states are compared by ranges, and how
 * many states an instruction keeps. fuzz-cases.test.ts holds bpfkit to them and, as root,
 * asks the running kernel again.
 */
import { type Instruction, makeInsn } from '../../src/isa/index.js';
import { ProgType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import { build } from './boundary-programs.js';
import type { Want } from './expect.js';

/** One program and what the kernel says of it. */
export interface FuzzCase {
  name: string;
  type: number;
  insns: Instruction[];
  maps: VerifierMap[];
  want: Want;
  /** Loaded with BTF func_info (programs with subprograms). */
  funcInfo?: boolean;
}

/** Raw instructions `[code, dst, src, off, imm]`, numbered by slot (an lddw takes two). */
function raw(...fields: [number, number?, number?, number?, number?][]): Instruction[] {
  let pc = 0;
  return fields.map(([code, dst = 0, src = 0, off = 0, imm = 0]) => {
    const insn = makeInsn({ pc, code, dst, src, off, imm });
    pc += code === 0x18 ? 2 : 1;
    return insn;
  });
}

const at = (pc: number, text: string): Want => ({ pc, re: new RegExp(`^${text.replace(/[()[\]|+*?.]/g, '\\$&')}$`) });
const OK: Want = { ok: true };
const EXIT = [0x95] as [number];
const R0_0 = [0xb7] as [number];

/** The tail of the bounds cases: `bad` reads the never-written r9, so only a register the kernel knows avoids it. */
const BAD = 'goto out\nbad:\nr0 = *(u64 *)(r9 + 0)\nexit\nout:\nr0 = 0\nexit';
const RANDOM_R7 = 'call 7\nr7 = r0';

/** Nested may_goto loops storing into an array value at r6 * 4 + r7. */
const nestedLoops = (outer: string, inner: string, size: string) => `
  r1 = 0
  *(u64 *)(r10 - 8) = r1
  r2 = r10
  r2 += -8
  r1 = map 0
  call 1
  r9 = r0
  r8 = 0
  if r9 == 0 goto +17
  r6 = 0
  may_goto +15
  ${outer} goto +14
  r7 = 0
  may_goto +10
  ${inner} goto +9
  r2 = r6
  r2 <<= 2
  r2 += r7
  r1 = r9
  r1 += r2
  *(${size} *)(r1 + 0) = r8
  r8 = r2
  r7 += 1
  goto -11
  r6 += 1
  goto -16
  r0 = 0
  exit`;

/** bpf_loop(100, cb, &fp[-8], 0) with a callback adding 1 to fp[-8], returning 1 or 0 by its index. */
const CALLBACK_COUNTER = `
  r1 = 0
  *(u64 *)(r10 - 8) = r1
  r1 = 100
  r2 = func +10
  r3 = r10
  r3 += -8
  r4 = 0
  call 181
  r1 = *(u64 *)(r10 - 8)
  if r1 > 8 goto +1
  r0 = 0
  r0 = 0
  exit
  r0 = *(u64 *)(r2 + 0)
  r0 += 1
  *(u64 *)(r2 + 0) = r0
  if r1 == 1 goto +2
  r0 = 1
  exit
  r0 = 0
  exit`;

const ARRAY8: VerifierMap = { name: 'm', type: 2, keySize: 4, valueSize: 8, maxEntries: 1, readOnly: false };

/** The cases, tc classifiers unless they say otherwise. */
export function fuzzCases(): FuzzCase[] {
  const tc = (name: string, insns: Instruction[], want: Want, extra: Partial<FuzzCase> = {}): FuzzCase => ({
    name,
    type: ProgType.SCHED_CLS,
    insns,
    maps: [],
    want,
    ...extra,
  });
  return [
    // check_store_reg reads the value before the address; check_atomic_rmw the operand, the address, r0.
    tc('stx-reads-src-first', build('*(u64 *)(r3 + 0) = r2\nr0 = 0\nexit'), at(0, 'R2 !read_ok')),
    tc(
      'atomic-reads-src-first',
      build('r2 = atomic_fetch_add((u64 *)(r3 + 0), r2)\nr0 = 0\nexit'),
      at(0, 'R2 !read_ok'),
    ),
    tc('cmpxchg-reads-dst-before-r0', raw([0xb7, 2, 0, 0, 1], [0xdb, 3, 2, 0, 0xf1], R0_0, EXIT), at(1, 'R3 !read_ok')),
    // check_subprogs: gotol is BPF_JMP32 | BPF_JA exactly; any other code jumps by off, even an unknown one.
    tc('jmp32-ja-x-jumps-by-off', raw(R0_0, [0x0e, 0, 0, 100, 0], EXIT), at(1, 'jump out of range from insn 1 to 102')),
    // bpf_pseudo_call is BPF_JMP | BPF_CALL exactly: other call codes are unknown opcodes, not calls.
    tc('callx-src1-is-no-call', raw(R0_0, [0x8d, 0, 1, 0, 1000], EXIT), at(1, 'unknown opcode 8d')),
    tc('jmp32-call-src1-is-no-call', raw(R0_0, [0x86, 0, 1, 0, 1000], EXIT), at(1, 'unknown opcode 86')),
    // check_cfg marks an lddw's second half only from jumps its walk took: dead code is unreachable first.
    tc('dead-jump-into-lddw', raw(R0_0, [0x18, 1, 0, 0, 5], EXIT, [0x05, 0, 0, -3], EXIT), at(4, 'unreachable insn 4')),
    // A subprogram ends in exit, goto or gotol, these codes exactly; its last insn is checked before the
    // next subprogram's jumps.
    tc('last-insn-jmp32-exit', raw(R0_0, [0x96]), at(1, 'last insn is not an exit or jmp')),
    tc('last-insn-ja-x', raw(R0_0, EXIT, [0x0d, 0, 0, -2]), at(2, 'last insn is not an exit or jmp')),
    tc(
      'last-insn-before-next-subprog-jumps',
      raw([0x85, 0, 1, 0, 1], R0_0, R0_0, [0x05, 0, 0, 50], EXIT),
      at(1, 'last insn is not an exit or jmp'),
      { funcInfo: true },
    ),
    // BPF_STX | BPF_ATOMIC in byte and half-word sizes is in the kernel's table (load-acquire and
    // store-release): the operation is checked first, then the size.
    tc(
      'atomic-half-bad-operation',
      raw([0xb7, 2, 0, 0, 1], [0xcb, 10, 2, -8, 0x77], R0_0, EXIT),
      at(1, 'BPF_ATOMIC uses invalid atomic opcode 77'),
    ),
    tc(
      'atomic-byte-add',
      raw([0xb7, 2, 0, 0, 1], [0xd3, 10, 2, -8, 0], R0_0, EXIT),
      at(1, 'invalid atomic operand size'),
    ),
    tc(
      'atomic-bad-operation-before-bad-register',
      raw([0xdb, 0, 15, 0, 0x12345678], EXIT),
      at(0, 'BPF_ATOMIC uses invalid atomic opcode 12345678'),
    ),
    tc('load-acquire-byte', raw([0x72, 10, 0, -8, 0], [0xd3, 0, 10, -8, 0x100], R0_0, EXIT), { unmodelled: true }),
    // check_ld_abs asks the program type before the fields.
    {
      ...tc(
        'ld-abs-in-xdp-bad-fields',
        raw([0x30, 2, 0, 0, 0], EXIT),
        at(0, 'BPF_LD_[ABS|IND] instructions not allowed for this program type'),
      ),
      type: ProgType.XDP,
    },
    // A kfunc call with a negative module BTF index has no BTF to look in.
    tc('kfunc-negative-btf-index', raw([0x85, 0, 2, -3, 12345], EXIT), at(0, 'failed to find BTF for kernel function')),
    // __update_reg64_bounds: a range meeting the tnum in one value pins it (odd values, [4, 8]: 5).
    tc(
      'bounds-one-value-between',
      build(`${RANDOM_R7}\nr7 &= 0x3c\nr7 |= 1\nif r7 < 4 goto out\nif r7 > 8 goto out\nif r7 != 5 goto bad\n${BAD}`),
      OK,
    ),
    tc(
      'bounds-one-value-past-umin',
      build(`${RANDOM_R7}\nr7 &= 0x18\nif r7 == 0 goto out\nif r7 > 10 goto out\nif r7 != 8 goto bad\n${BAD}`),
      OK,
    ),
    tc(
      'bounds-one-value-tmax',
      build(`${RANDOM_R7}\nr7 &= 0x18\nif r7 < 17 goto out\nif r7 != 24 goto bad\n${BAD}`),
      OK,
    ),
    // An impossible branch side still comes out a constant: [1, 7] of {0, 8, 16, 24} is 0, [2, 2] of the
    // odd values is 3 (the bounds the sync leaves, not forgotten ones).
    tc(
      'bounds-impossible-side-constant',
      build(
        `${RANDOM_R7}\nr7 &= 0x18\nif r7 == 0 goto out\nif r7 < 8 goto t\ngoto out\nt:\nif r7 > 5 goto bad\n${BAD}`,
      ),
      OK,
    ),
    tc(
      'bounds-impossible-side-odd',
      build(
        `${RANDOM_R7}\nr7 &= 0x3c\nr7 |= 1\nif r7 < 2 goto out\nif r7 < 3 goto t\ngoto out\nt:\nif r7 > 5 goto bad\n${BAD}`,
      ),
      OK,
    ),
    // find_prev_entry: the inner loop's next iteration is widened against the newest unfinished state at its
    // may_goto, where the index is precise, not an outer pass's (r7 stays exact: the range fault is the
    // kernel's, at the store).
    {
      ...tc(
        'may-goto-nested-widens-against-newest',
        build(nestedLoops('if r6 > 1', 'if r7 == 8', 'u16')),
        at(21, 'R1 min value is outside of the allowed memory range'),
      ),
      type: ProgType.SOCKET_FILTER,
      maps: [ARRAY8],
    },
    // A finished state of a loop is compared by its marks while no path was pruned against the loop's
    // unfinished states (incomplete_read_marks): the second pass of the outer loop ends at its may_goto,
    // covered by the first pass's state whose index is precise. Compared by ranges, it went on, and the
    // inner index, widened against an earlier pass, became unbounded.
    {
      ...tc('may-goto-nested-finished-state-by-marks', build(nestedLoops('if r6 == 2', 'if r7 == 2', 'u8')), OK),
      type: ProgType.SOCKET_FILTER,
      maps: [{ ...ARRAY8, valueSize: 16 }],
    },
    // A privileged loader keeps every state at an instruction (the kernel's cap of 64 binds only one
    // without CAP_BPF): a bpf_loop callback counting in its caller's slot, which a decided jump after the
    // loop makes precise, unrolls all 100 calls; the checkpoints at the call that miss more than 64 times
    // are dropped, so each call's other exit walks the rest of the loop again, past the 1M limit.
    tc(
      'callback-loop-keeps-every-checkpoint',
      build(CALLBACK_COUNTER),
      at(19, 'BPF program is too large. Processed 1000001 insn'),
      {
        funcInfo: true,
      },
    ),
  ];
}
