/**
 * Rules the kernel's raw test_verifier corpus showed bpfkit lacked (docs/verifier.md, "The raw
 * test_verifier corpus"), each held by programs of our own with the verdict the running kernel (6.18)
 * gives: resolve_pseudo_ldimm64's checks of every `lddw` before the walk, an atomic fetch into r10, the
 * program types that may not be sleepable, BPF_PROG_LOAD's default attach types, the call stack's two
 * refusals, a kfunc call that names nothing, and the registers a helper call reads (liveness, pruning).
 * Programs are raw instructions (`I`, `ldd`), so the malformed ones can be written too.
 */
import type { Instruction } from '../../src/isa/index.js';
import { ProgType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import type { Want } from './expect.js';

/** One program, what the kernel is given with it, and what it says. */
export interface RawCase {
  name: string;
  type: number;
  attach?: number;
  /** Loaded with BPF_F_SLEEPABLE. */
  sleepable?: boolean;
  /** Loaded with BPF_F_STRICT_ALIGNMENT. */
  strict?: boolean;
  /** tp_btf programs: the tracepoint (BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP). */
  tp?: string;
  maps?: VerifierMap[];
  insns: Instruction[];
  want: Want;
}

type Raw = [code: number, dst?: number, src?: number, off?: number, imm?: number, imm2?: number];

/** Instructions from [code, dst, src, off, imm, imm2] rows, each at its slot (an lddw takes two). */
export function raw(rows: readonly Raw[]): Instruction[] {
  let pc = 0;
  return rows.map(([code, dst = 0, src = 0, off = 0, imm = 0, imm2 = 0]) => {
    const insn = { pc, code, dst, src, off, imm, imm2 };
    pc += code === LDDW ? 2 : 1;
    return insn;
  });
}

const OK: Want = { ok: true };
const at = (pc: number, text: string): Want => ({
  pc,
  re: new RegExp(`^${text.replace(/[()[\]|+*?.{}!]/g, '\\$&')}$`),
});

// Opcodes.
const LDDW = 0x18;
const MOV64_IMM = 0xb7;
const MOV64_REG = 0xbf;
const ADD64_IMM = 0x07;
const EXIT = 0x95;
const CALL = 0x85;
const JA = 0x05;
const JEQ_IMM = 0x15;
const LDXW = 0x61;
const STDW = 0x7a;
const STXDW = 0x7b;
const ATOMIC_DW = 0xdb;
// Atomic operations (imm): BPF_ADD, BPF_FETCH, BPF_XCHG, BPF_CMPXCHG.
const FETCH = 0x01;
const XCHG = 0xe1;
const CMPXCHG = 0xf1;

const ret0: Raw[] = [[MOV64_IMM, 0, 0, 0, 0], [EXIT]];
const ret1: Raw[] = [[MOV64_IMM, 0, 0, 0, 1], [EXIT]];

const ARRAY1: VerifierMap = { name: 'one', type: 2, keySize: 4, valueSize: 8, maxEntries: 1, readOnly: false };
const ARRAY2: VerifierMap = { name: 'two', type: 2, keySize: 4, valueSize: 8, maxEntries: 2, readOnly: false };
const HASH: VerifierMap = { name: 'hash', type: 1, keySize: 4, valueSize: 8, maxEntries: 1, readOnly: false };

const { SOCKET_FILTER, XDP, KPROBE, CGROUP_SOCK, SK_REUSEPORT, SOCK_OPS, SK_MSG } = ProgType;
const CGROUP_SYSCTL = 23;
const TRACING = 26;
const TRACE_RAW_TP = 23;

/**
 * resolve_pseudo_ldimm64: every lddw, reached or not, in program order, before the walk (the kernel's log
 * names no instruction; bpfkit names the lddw). Map lddws name map 0 (`imm` 0); -1 names none.
 */
export const LDIMM64_CASES: RawCase[] = [
  {
    name: 'a map lddw whose second half is not zero is unrecognized',
    type: SOCKET_FILTER,
    maps: [ARRAY1],
    insns: raw([[LDDW, 1, 1, 0, 0, 1], ...ret0]),
    want: at(0, 'unrecognized bpf_ld_imm64 insn'),
  },
  {
    name: 'an lddw of an unknown pseudo kind is unrecognized, in dead code too',
    type: SOCKET_FILTER,
    insns: raw([[JA, 0, 0, 2], [LDDW, 1, 7, 0, 0], ...ret0]),
    want: at(1, 'unrecognized bpf_ld_imm64 insn'),
  },
  {
    name: 'a map lddw in dead code naming no map',
    type: SOCKET_FILTER,
    insns: raw([[MOV64_IMM, 0, 0, 0, 0], [EXIT], [LDDW, 1, 1, 0, -1], [EXIT]]),
    want: at(2, 'fd -1 is not pointing to valid bpf_map'),
  },
  {
    name: 'a direct value pointer at 1 << 29 or more',
    type: SOCKET_FILTER,
    maps: [ARRAY1],
    insns: raw([[LDDW, 1, 2, 0, 0, 1 << 29], ...ret0]),
    want: at(0, 'direct value offset of 536870912 is not allowed'),
  },
  {
    name: 'a direct value pointer at a negative offset is a large unsigned one',
    type: SOCKET_FILTER,
    maps: [ARRAY1],
    insns: raw([[LDDW, 1, 2, 0, 0, -4], ...ret0]),
    want: at(0, 'direct value offset of 4294967292 is not allowed'),
  },
  {
    name: 'a direct value pointer into a hash map',
    type: SOCKET_FILTER,
    maps: [HASH],
    insns: raw([[LDDW, 1, 2, 0, 0, 0], ...ret0]),
    want: at(0, 'no direct value access support for this map type'),
  },
  {
    name: 'a direct value pointer into an array of two entries',
    type: SOCKET_FILTER,
    maps: [ARRAY2],
    insns: raw([[LDDW, 1, 2, 0, 0, 0], ...ret0]),
    want: at(0, 'invalid access to map value pointer, value_size=8 off=0'),
  },
  {
    name: 'a direct value pointer past the value, in dead code',
    type: SOCKET_FILTER,
    maps: [ARRAY1],
    insns: raw([[MOV64_IMM, 0, 0, 0, 0], [EXIT], [LDDW, 1, 2, 0, 0, 8], [EXIT]]),
    want: at(2, 'invalid access to map value pointer, value_size=8 off=8'),
  },
  {
    name: 'a reached lddw with an offset uses reserved fields (check_ld_imm)',
    type: SOCKET_FILTER,
    insns: raw([[LDDW, 0, 0, 1, 5], [EXIT]]),
    want: at(0, 'BPF_LD_IMM64 uses reserved fields'),
  },
  {
    name: 'a dead lddw with an offset is dropped unchecked',
    type: SOCKET_FILTER,
    insns: raw([[MOV64_IMM, 0, 0, 0, 0], [JEQ_IMM, 0, 0, 2, 0], [LDDW, 0, 0, 1, 5], [EXIT]]),
    want: OK,
  },
  {
    name: 'an lddw into r10',
    type: SOCKET_FILTER,
    insns: raw([[LDDW, 10, 0, 0, 5], ...ret0]),
    want: at(0, 'frame pointer is read only'),
  },
  {
    name: 'an lddw into r11',
    type: SOCKET_FILTER,
    insns: raw([[LDDW, 11, 0, 0, 5], ...ret0]),
    want: at(0, 'R11 is invalid'),
  },
  {
    name: 'a direct value pointer inside a single-entry array reads its value',
    type: SOCKET_FILTER,
    maps: [ARRAY1],
    insns: raw([[LDDW, 1, 2, 0, 0, 4], [LDXW, 0, 1, 0, 0], [EXIT]]),
    want: OK,
  },
];

/** check_atomic_rmw: a fetch loads the old value into src (r0 for cmpxchg), which may not be r10. */
export const ATOMIC_CASES: RawCase[] = [
  {
    name: 'atomic fetch-add into r10',
    type: SOCKET_FILTER,
    insns: raw([[STDW, 10, 0, -8, 1], [ATOMIC_DW, 10, 10, -8, FETCH], ...ret0]),
    want: at(1, 'frame pointer is read only'),
  },
  {
    name: 'atomic xchg into r10',
    type: SOCKET_FILTER,
    insns: raw([[STDW, 10, 0, -8, 1], [ATOMIC_DW, 10, 10, -8, XCHG], ...ret0]),
    want: at(1, 'frame pointer is read only'),
  },
  {
    name: 'atomic cmpxchg with r10 as the new value loads into r0',
    type: SOCKET_FILTER,
    insns: raw([[STDW, 10, 0, -8, 1], [MOV64_IMM, 0, 0, 0, 1], [ATOMIC_DW, 10, 10, -8, CMPXCHG], ...ret0]),
    want: OK,
  },
  {
    name: 'atomic fetch-add into r1 from the stack',
    type: SOCKET_FILTER,
    insns: raw([
      [STDW, 10, 0, -8, 1],
      [MOV64_IMM, 1, 0, 0, 2],
      [ATOMIC_DW, 10, 1, -8, FETCH],
      [MOV64_REG, 0, 1],
      [EXIT],
    ]),
    want: OK,
  },
];

/** can_be_sleepable: which types BPF_F_SLEEPABLE is refused for (a message naming no instruction). */
export const SLEEPABLE_CASES: RawCase[] = [
  {
    name: 'a sleepable socket filter',
    type: SOCKET_FILTER,
    sleepable: true,
    insns: raw(ret0),
    want: at(0, 'Only fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable'),
  },
  {
    name: 'a sleepable XDP program',
    type: XDP,
    sleepable: true,
    insns: raw(ret0),
    want: at(0, 'Only fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable'),
  },
  {
    name: 'a sleepable tp_btf program',
    type: TRACING,
    attach: TRACE_RAW_TP,
    tp: 'sched_switch',
    sleepable: true,
    insns: raw(ret0),
    want: at(0, 'Only fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable'),
  },
  { name: 'a sleepable kprobe (uprobe) loads', type: KPROBE, sleepable: true, insns: raw(ret0), want: OK },
];

/**
 * bpf_prog_load_fixup_attach_type and bpf_prog_load_check_attach: attach type 0 is the socket creation
 * hook of cgroup_sock and the select hook of sk_reuseport; sock_ops, sk_msg and cgroup_sysctl take any.
 */
export const ATTACH_CASES: RawCase[] = [
  {
    name: 'cgroup_sock with attach type 0 reads its family as a creation hook',
    type: CGROUP_SOCK,
    insns: raw([[LDXW, 0, 1, 4, 0], [MOV64_IMM, 0, 0, 0, 1], [EXIT]]),
    want: OK,
  },
  {
    name: 'cgroup_sock with attach type 0 may not read src_ip4 (a post-bind field)',
    type: CGROUP_SOCK,
    insns: raw([[LDXW, 0, 1, 24, 0], [MOV64_IMM, 0, 0, 0, 1], [EXIT]]),
    want: at(0, 'invalid bpf_context access off=24 size=4'),
  },
  {
    name: 'cgroup_sock with attach type 0 writes its mark as a creation hook',
    type: CGROUP_SOCK,
    insns: raw([[MOV64_IMM, 2, 0, 0, 7], [0x63, 1, 2, 16, 0], [MOV64_IMM, 0, 0, 0, 1], [EXIT]]),
    want: OK,
  },
  {
    name: 'sk_reuseport with attach type 0 reads its hash',
    type: SK_REUSEPORT,
    insns: raw([[LDXW, 0, 1, 32, 0], [MOV64_IMM, 0, 0, 0, 1], [EXIT]]),
    want: OK,
  },
  { name: 'sock_ops with attach type 0', type: SOCK_OPS, insns: raw(ret1), want: OK },
  { name: 'sk_msg with attach type 0', type: SK_MSG, insns: raw(ret1), want: OK },
  { name: 'cgroup_sysctl with attach type 0', type: CGROUP_SYSCTL, insns: raw(ret1), want: OK },
  {
    name: 'cgroup_sysctl with attach type 0 (inet ingress) has no bpf_get_retval',
    type: CGROUP_SYSCTL,
    insns: raw([[CALL, 0, 0, 0, 186], ...ret1]),
    want: at(0, 'program of this type cannot use helper bpf_get_retval#186'),
  },
];

const STW = 0x62;
const LDXH = 0x69;
const AND64_IMM = 0x57;
const ADD64_REG = 0x0f;
const JGT_REG = 0x2d;

/** A lookup of key 0 in map 0; r0 the value or NULL (insns 0-5). */
const lookup: Raw[] = [
  [STW, 10, 0, -4, 0],
  [MOV64_REG, 2, 10],
  [ADD64_IMM, 2, 0, 0, -4],
  [LDDW, 1, 1, 0, 0],
  [CALL, 0, 0, 0, 1],
];

/** A tc program's packet, 8 bytes of it proven there (r2 data, insns 0-4), then `body`, then exit 0. */
const packet = (body: Raw[]): Raw[] => [
  [LDXW, 2, 1, 76],
  [LDXW, 3, 1, 80],
  [MOV64_REG, 4, 2],
  [ADD64_IMM, 4, 0, 0, 8],
  [JGT_REG, 4, 3, body.length],
  ...body,
  ...ret0,
];

/**
 * BPF_F_STRICT_ALIGNMENT (check_ptr_alignment, strict): every access of more than a byte aligned to its
 * size, the packet's counted from NET_IP_ALIGN (2); without the flag only the stack and atomics are.
 */
export const STRICT_CASES: RawCase[] = [
  {
    name: 'strict: a misaligned context load',
    type: SOCKET_FILTER,
    strict: true,
    insns: raw([[LDXH, 0, 1, 49], ...ret0]),
    want: at(0, 'misaligned context access off 0+0+49 size 2'),
  },
  {
    name: 'strict: a context byte load is never misaligned',
    type: SOCKET_FILTER,
    strict: true,
    insns: raw([[0x71, 0, 1, 49], ...ret0]),
    want: OK,
  },
  {
    name: 'strict: a packet word at data + 0 is misaligned after NET_IP_ALIGN',
    type: ProgType.SCHED_CLS,
    strict: true,
    insns: raw(packet([[LDXW, 0, 2, 0]])),
    want: at(5, 'misaligned packet access off 2+0+0+0 size 4'),
  },
  {
    name: 'strict: a packet word at data + 2 is aligned',
    type: ProgType.SCHED_CLS,
    strict: true,
    insns: raw(packet([[LDXW, 0, 2, 2]])),
    want: OK,
  },
  {
    name: 'not strict: a packet word at data + 0',
    type: ProgType.SCHED_CLS,
    insns: raw(packet([[LDXW, 0, 2, 0]])),
    want: OK,
  },
  {
    name: 'strict: a misaligned map value load',
    type: SOCKET_FILTER,
    strict: true,
    maps: [HASH],
    insns: raw([...lookup, [JEQ_IMM, 0, 0, 1, 0], [LDXW, 0, 0, 2], ...ret0]),
    want: at(7, 'misaligned value access off 0+0+2 size 4'),
  },
  {
    name: 'not strict: a misaligned map value load',
    type: SOCKET_FILTER,
    maps: [HASH],
    insns: raw([...lookup, [JEQ_IMM, 0, 0, 1, 0], [LDXW, 0, 0, 2], ...ret0]),
    want: OK,
  },
  {
    name: 'strict: a misaligned load through a map value that may be NULL names no pointer type',
    type: SOCKET_FILTER,
    strict: true,
    maps: [HASH],
    insns: raw([...lookup, [LDXW, 1, 0, 2], ...ret0]),
    want: at(6, 'misaligned access off 0+0+2 size 4'),
  },
  {
    name: 'strict: a variable offset aligned for a word',
    type: SOCKET_FILTER,
    strict: true,
    maps: [HASH],
    insns: raw([
      ...lookup,
      [JEQ_IMM, 0, 0, 4, 0],
      [LDXW, 1, 0, 0],
      [AND64_IMM, 1, 0, 0, 4],
      [ADD64_REG, 0, 1],
      [LDXW, 0, 0, 0],
      ...ret0,
    ]),
    want: OK,
  },
  {
    name: 'strict: a variable offset misaligned for a double word',
    type: SOCKET_FILTER,
    strict: true,
    maps: [HASH],
    insns: raw([
      ...lookup,
      [JEQ_IMM, 0, 0, 4, 0],
      [LDXW, 1, 0, 0],
      [AND64_IMM, 1, 0, 0, 4],
      [ADD64_REG, 0, 1],
      [0x79, 0, 0, 0],
      ...ret0,
    ]),
    want: at(10, 'misaligned value access off (0x0; 0x4)+0+0 size 8'),
  },
];

/** A chain of `n` subprograms, each calling the next (the last returns 0), from the entry. */
function chain(n: number, deadCallAtEnd = false): Raw[] {
  const rows: Raw[] = [[CALL, 0, 1, 0, 1], [EXIT]];
  for (let k = 1; k < n; k++) rows.push([CALL, 0, 1, 0, 1], [EXIT]);
  // The last one: r0 = 0 and, when asked, a call the walk never takes (r0 is 0) to one more.
  if (deadCallAtEnd) rows.push([MOV64_IMM, 0, 0, 0, 0], [JEQ_IMM, 0, 0, 1, 0], [CALL, 0, 1, 0, 1], [EXIT], ...ret0);
  else rows.push(...ret0);
  return rows;
}

/**
 * The call stack: the walk refuses a ninth frame (setup_func_entry: "... is too deep", no "!"),
 * check_max_stack_depth a ninth frame only a dead call reaches (it counts from 0: "8 frames ... !").
 * add_subprog takes any slot of the program: a call to an lddw's second half leaves the subprogram before
 * it ending in that lddw.
 */
export const CALL_CASES: RawCase[] = [
  { name: 'eight frames', type: SOCKET_FILTER, insns: raw(chain(7)), want: OK },
  {
    name: 'nine frames, walked',
    type: SOCKET_FILTER,
    insns: raw(chain(8)),
    want: at(14, 'the call stack of 9 frames is too deep'),
  },
  {
    name: 'nine frames through a call the walk never takes',
    type: SOCKET_FILTER,
    insns: raw(chain(7, true)),
    want: at(16, 'the call stack of 8 frames is too deep !'),
  },
  {
    name: 'a call to slot -1',
    type: SOCKET_FILTER,
    insns: raw([[CALL, 0, 1, 0, -2], ...ret0]),
    want: at(0, 'call to invalid destination'),
  },
  {
    name: "a call into an lddw's second half",
    type: SOCKET_FILTER,
    insns: raw([[CALL, 0, 1, 0, 1], [LDDW, 0, 0, 0, 1], [EXIT]]),
    want: at(1, 'last insn is not an exit or jmp'),
  },
];

/**
 * A kfunc call naming nothing (imm 0, off 0): stepped over without touching a register, refused after the
 * walk when reached (fixup_kfunc_call), gone when dead.
 */
export const KFUNC_ZERO_CASES: RawCase[] = [
  {
    name: 'a reached kfunc call naming nothing',
    type: SOCKET_FILTER,
    insns: raw([[CALL, 0, 2, 0, 0], ...ret0]),
    want: at(0, 'invalid kernel function call not eliminated in verifier pass'),
  },
  {
    name: 'a dead kfunc call naming nothing',
    type: SOCKET_FILTER,
    insns: raw([[MOV64_IMM, 0, 0, 0, 0], [JEQ_IMM, 0, 0, 1, 0], [CALL, 0, 2, 0, 0], [EXIT]]),
    want: OK,
  },
  {
    name: 'a kfunc call naming nothing sets no r0',
    type: SOCKET_FILTER,
    insns: raw([[CALL, 0, 2, 0, 0], [EXIT]]),
    want: at(1, 'R0 !read_ok'),
  },
  {
    name: 'a kfunc call naming nothing leaves r1-r5 as they were',
    type: SOCKET_FILTER,
    insns: raw([[MOV64_IMM, 1, 0, 0, 3], [CALL, 0, 2, 0, 0], [MOV64_REG, 0, 1], [ADD64_IMM, 0, 0, 0, 1], [EXIT]]),
    want: at(1, 'invalid kernel function call not eliminated in verifier pass'),
  },
];

/**
 * The scale pattern: `n` times a helper call without arguments, a branch around a spill of the context to
 * its own stack slot, then `movs` moves and exit. Paths differ in r1 (the stack pointer the spill went
 * through) at the next call, which reads no argument: with r1-r5 live there no path would prune.
 */
export function scaleProgram(n: number, movs: number): Instruction[] {
  const rows: Raw[] = [[MOV64_REG, 6, 1]];
  for (let k = 1; k <= n; k++)
    rows.push(
      [CALL, 0, 0, 0, 7],
      [JEQ_IMM, 0, 0, 2, 0x1000 + k],
      [MOV64_REG, 1, 10],
      [STXDW, 1, 6, -8 * ((k % 64) + 1)],
    );
  for (let i = 0; i < movs; i++) rows.push([MOV64_IMM, 0, 0, 0, 42]);
  rows.push([EXIT]);
  return raw(rows);
}

/** Instructions the running kernel (6.18) processes for scaleProgram(200, 100) ("processed N insns"). */
export const SCALE_PROCESSED = 1602;

/**
 * Programs whose register liveness (stage 1's, before each instruction) is compared with the kernel's
 * "Live regs before insn" log: helper calls of 0, 1 and 4 arguments, kfunc calls of 0 and 1
 * parameters (named, resolved in the kernel's BTF by `kfunc`), LD_ABS/IND, a local call (r1-r5 always).
 */
export function livenessPrograms(
  kfunc: (name: string) => number,
): { name: string; type: number; insns: Instruction[] }[] {
  return [
    {
      name: 'helpers of 0, 1 and 4 arguments',
      type: SOCKET_FILTER,
      insns: raw([
        [MOV64_REG, 6, 1],
        [MOV64_IMM, 3, 0, 0, 1],
        [CALL, 0, 0, 0, 7],
        [MOV64_IMM, 2, 0, 0, 0],
        [MOV64_REG, 1, 6],
        [CALL, 0, 0, 0, 46],
        [MOV64_REG, 1, 6],
        [MOV64_IMM, 2, 0, 0, 0],
        [MOV64_REG, 3, 10],
        [ADD64_IMM, 3, 0, 0, -8],
        [MOV64_IMM, 4, 0, 0, 4],
        [CALL, 0, 0, 0, 26],
        [JEQ_IMM, 0, 0, 1, 0],
        [MOV64_REG, 0, 6],
        ...ret0,
      ]),
    },
    {
      name: 'kfuncs of 1 and 0 parameters',
      type: ProgType.SCHED_CLS,
      insns: raw([
        [MOV64_REG, 6, 1],
        [MOV64_IMM, 2, 0, 0, 1],
        [CALL, 0, 2, 0, kfunc('bpf_cast_to_kern_ctx')],
        [CALL, 0, 2, 0, kfunc('bpf_rcu_read_lock')],
        [CALL, 0, 2, 0, kfunc('bpf_rcu_read_unlock')],
        ...ret0,
      ]),
    },
    {
      name: 'a kfunc the type may not call reads r1-r5 (refused there)',
      type: 17,
      insns: raw([[MOV64_IMM, 1, 0, 0, 0], [CALL, 0, 2, 0, kfunc('bpf_task_acquire')], ...ret0]),
    },
    {
      name: 'LD_ABS and LD_IND may read every register and define none (to liveness)',
      type: SOCKET_FILTER,
      insns: raw([
        [MOV64_REG, 6, 1],
        [MOV64_IMM, 7, 0, 0, 1],
        [MOV64_IMM, 2, 0, 0, 3],
        [0x30, 0, 0, 0, 0],
        [0x50, 0, 7, 0, 0],
        [MOV64_REG, 0, 7],
        [EXIT],
      ]),
    },
    {
      name: 'a local call reads r1-r5',
      type: SOCKET_FILTER,
      insns: raw([[MOV64_IMM, 1, 0, 0, 1], [CALL, 0, 1, 0, 1], [EXIT], [MOV64_REG, 0, 1], [EXIT]]),
    },
  ];
}
