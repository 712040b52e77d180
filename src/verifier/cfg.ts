/**
 * Stage 1, the kernel's check_subprogs and check_cfg: find the subprograms (local-call and callback
 * targets), keep every jump inside its subprogram and off the second half of an `lddw`, require each
 * subprogram to end in `exit` or `goto`, and reach every instruction from the entry. Loops are allowed, as
 * for a privileged loader: stage 2 decides whether they end. Also computes, per instruction, which
 * registers may still be read (liveness) so that state pruning can ignore the dead ones.
 *
 * Everything per slot lives in typed arrays indexed by slot, and the searches are loops over them: a
 * program may have a million instructions, and per-instruction maps, sets and arrays cost more than
 * stage 2's walk of them.
 */
import type { Instruction } from '../isa/instruction.js';
import { checkInstruction } from '../isa/opcode-table.js';
import {
  BPF_CALL,
  BPF_EXIT,
  BPF_JA,
  BPF_JMP,
  BPF_JMP32,
  BPF_LD,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC,
  OP_LDDW,
  classOf,
  opOf,
  sourceOf,
  BPF_X,
  BPF_STX,
  BPF_ST,
  BPF_LDX,
  BPF_ALU,
  BPF_ALU64,
  BPF_MOV,
  BPF_NEG,
  BPF_END,
  modeOf,
  BPF_ABS,
  BPF_IND,
  BPF_ATOMIC,
  BPF_CMPXCHG,
  BPF_FETCH,
} from '../isa/opcodes.js';
import { OP_MAY_GOTO, isNarrowAtomic, loadFieldFault } from './fields.js';
import { Rejection } from './reject.js';

/** What stage 1 learns of a program; the arrays are indexed by slot (`slots` long). */
/**
 * Helpers that call a callback before they return (is_sync_callback_calling_function: for_each_map_elem,
 * find_vma, loop, user_ringbuf_drain). Their call instructions are where callback loops converge: the
 * callback's exit comes back to the call (check_cfg's mark_calls_callback).
 */
const CALLBACK_HELPERS: ReadonlySet<number> = new Set([164, 180, 181, 209]);

/** Is `insn` a call of a helper that calls a callback (a forced checkpoint the callback returns to)? */
export const callsCallback = (insn: Instruction): boolean =>
  insn.code === 0x85 && insn.src === 0 && CALLBACK_HELPERS.has(insn.imm);

export interface Cfg {
  /** Slots the program spans (an `lddw` takes two). */
  slots: number;
  /** Instruction index by slot, -1 for the second half of an `lddw`. */
  index: Int32Array;
  /** First slot of each subprogram, ascending (the entry first). */
  subprogs: number[];
  /** 1 at slots where states are remembered for pruning (jump targets, conditional jumps, around calls). */
  prunePoints: Uint8Array;
  /** Bit i set: register i may be read before it is written, from this slot on (bit 10, r10, always). */
  liveIn: Uint16Array;
  /** Subprogram (its first slot) containing each slot. */
  subprogOf(pc: number): number;
}

const isJmp = (code: number) => classOf(code) === BPF_JMP || classOf(code) === BPF_JMP32;

/** The slot a local call or a callback reference (`lddw` of a function) names, or -1 for neither. */
function calleeOf(insn: Instruction): number | undefined {
  // bpf_pseudo_call: BPF_JMP | BPF_CALL exactly (a JMP32 or BPF_X call is an unknown opcode, found later).
  if (insn.code === 0x85 && insn.src === BPF_PSEUDO_CALL) return insn.pc + insn.imm + 1;
  if (insn.code === OP_LDDW && insn.src === BPF_PSEUDO_FUNC) return insn.pc + insn.imm + 1;
  // (undefined, not -1: a call to slot -1 is a call, to an invalid destination.)
  return undefined;
}

/**
 * Where a jump goes (JA, conditional; not call or exit): check_subprogs takes imm for BPF_JMP32 | BPF_JA
 * exactly (gotol), off for every other code, unknown ones (a BPF_X JA) too.
 */
const OP_GOTOL = 0x06;
const jumpTarget = (insn: Instruction): number => insn.pc + 1 + (insn.code === OP_GOTOL ? insn.imm : insn.off);

/** check_subprogs: a subprogram ends in exit, goto or gotol (these codes exactly, nothing else). */
const endsSubprog = (code: number): boolean => code === 0x95 || code === 0x05 || code === OP_GOTOL;

/**
 * Run stage 1 over a linked program; throws Rejection with the kernel's message at the first fault.
 * `callArgs`: how many arguments a helper or kfunc call passes (the registers it reads); `afterSubprogs`: a
 * check to run once the subprograms are known, before the instructions' reachability.
 */
export function buildCfg(
  insns: readonly Instruction[],
  roots: readonly number[] = [],
  callArgs?: (call: Instruction) => number | undefined,
  afterSubprogs?: () => void,
): Cfg {
  const n = insns.length;
  if (n === 0) throw new Rejection(0, 'program has no instructions');
  const last = insns[n - 1]!;
  const slots = last.pc + (last.code === OP_LDDW ? 2 : 1);
  const index = new Int32Array(slots).fill(-1);
  for (let i = 0; i < n; i++) index[insns[i]!.pc] = i;
  const has = (pc: number) => pc >= 0 && pc < slots && index[pc]! >= 0;

  // Subprograms.
  const starts = new Set<number>([0]);
  for (let i = 0; i < n; i++) {
    const insn = insns[i]!;
    const target = calleeOf(insn);
    if (target === undefined) continue;
    // add_subprog takes any slot of the program, an lddw's second half too (the subprogram before it
    // then ends in that lddw: "last insn is not an exit or jmp").
    if (target < 0 || target >= slots) throw new Rejection(insn.pc, 'call to invalid destination');
    starts.add(target);
  }
  // Subprograms no call names that the kernel still walks (the exception callback, throw.ts).
  for (const pc of roots) {
    if (!has(pc)) throw new Rejection(pc, 'call to invalid destination');
    starts.add(pc);
  }
  const subprogs = [...starts].sort((a, b) => a - b);
  /** Index into subprogs of the subprogram holding `pc`. */
  const spIndex = (pc: number): number => {
    let lo = 0;
    let hi = subprogs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (subprogs[mid]! <= pc) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const subprogOf = (pc: number): number => subprogs[spIndex(pc)]!;
  const endAt = (k: number): number => (k + 1 < subprogs.length ? subprogs[k + 1]! : slots);

  // Jumps stay inside their subprogram; subprograms end in exit or goto. check_subprogs walks the
  // instructions in order: a subprogram's jumps, then its last instruction, then the next subprogram's.
  const prunePoints = new Uint8Array(slots);
  for (let k = 0; k < subprogs.length; k++) {
    const end = endAt(k);
    let lastInsn: Instruction | undefined;
    for (let i = index[subprogs[k]!]!; i >= 0 && i < n && insns[i]!.pc < end; i++) {
      const insn = insns[i]!;
      lastInsn = insn;
      if (!isJmp(insn.code)) continue;
      const op = opOf(insn.code);
      if (op === BPF_CALL || op === BPF_EXIT) continue;
      const target = jumpTarget(insn);
      if (target < subprogs[k]! || target >= end)
        throw new Rejection(insn.pc, `jump out of range from insn ${insn.pc} to ${target}`);
      if (index[target]! >= 0) prunePoints[target] = 1;
      // The kernel's visit_insn: a conditional jump is itself a prune point (one state before both ways).
      if (op !== BPF_JA) prunePoints[insn.pc] = 1;
    }
    // (A subprogram starting at an lddw's second half has no instruction of its own to start from.)
    if (!lastInsn) {
      for (let pc = end - 1; pc >= subprogs[k]!; pc--)
        if (index[pc]! >= 0) {
          lastInsn = insns[index[pc]!];
          break;
        }
    }
    if (!lastInsn || !endsSubprog(lastInsn.code))
      throw new Rejection(lastInsn?.pc ?? subprogs[k]!, 'last insn is not an exit or jmp');
  }

  // The caller's pass between check_subprogs and check_cfg (resolve_pseudo_ldimm64's lddws).
  afterSubprogs?.();

  // Opcodes, loads' fields and lddw pairs (resolve_pseudo_ldimm64), after check_subprogs' jump ranges
  // as in the kernel.
  // Other classes' fields are checked when the walk reaches them (fields.ts), as the kernel does.
  for (let i = 0; i < n; i++) {
    const insn = insns[i]!;
    const load = loadFieldFault(insn);
    if (load) throw new Rejection(insn.pc, load);
    // An lddw's own fields are checked by resolve_pseudo_ldimm64 (its kind: ldimm64.ts) and, where the
    // walk reaches it, by check_ld_imm (offset, register: step.ts).
    const bad = insn.code === OP_MAY_GOTO || isNarrowAtomic(insn.code) ? undefined : checkInstruction(insn);
    if (bad?.startsWith('unknown opcode'))
      throw new Rejection(insn.pc, `unknown opcode ${insn.code.toString(16).padStart(2, '0')}`);
    if (isJmp(insn.code) && opOf(insn.code) === BPF_CALL && sourceOf(insn.code) === BPF_X)
      throw new Rejection(insn.pc, `unknown opcode ${insn.code.toString(16)}`);
  }

  // Reachability from the entry, following calls and callback references as the kernel's DFS does
  // (iterative, over an array used as a stack: no recursion to overflow, no set per slot).
  const seen = new Uint8Array(slots);
  const work = new Int32Array(2 * n + 1);
  let top = 0;
  work[top++] = 0;
  seen[0] = 1;
  for (const pc of roots)
    if (!seen[pc]) {
      seen[pc] = 1;
      work[top++] = pc;
    }
  const push = (pc: number) => {
    if (has(pc) && !seen[pc]) {
      seen[pc] = 1;
      work[top++] = pc;
    }
  };
  while (top > 0) {
    const insn = insns[index[work[--top]!]!]!;
    const a = successor(insn, 0);
    if (a !== -1) push(a);
    const b = successor(insn, 1);
    if (b !== -1) push(b);
    const callee = calleeOf(insn);
    if (callee !== undefined) push(callee);
  }
  // Into an lddw's second half: check_cfg reports it in instruction order, with unreachable ones, and
  // only for jumps its walk took (a jump in dead code marks nothing).
  const intoLddw = new Uint8Array(slots);
  for (let i = 0; i < n; i++) {
    const insn = insns[i]!;
    if (!seen[insn.pc] || !isJmp(insn.code)) continue;
    const op = opOf(insn.code);
    if (op === BPF_CALL || op === BPF_EXIT) continue;
    const target = jumpTarget(insn);
    if (index[target]! < 0) intoLddw[target - 1] = 1;
  }
  for (let i = 0; i < n; i++) {
    const pc = insns[i]!.pc;
    if (!seen[pc]) throw new Rejection(pc, `unreachable insn ${pc}`);
    if (intoLddw[pc]) throw new Rejection(pc, `jump into the middle of ldimm64 insn ${pc}`);
  }
  for (let i = 0; i < n; i++) {
    const insn = insns[i]!;
    if (isJmp(insn.code) && opOf(insn.code) === BPF_CALL) {
      if (insn.pc + 1 < slots) prunePoints[insn.pc + 1] = 1;
      // visit_func_call_insn: a local call is a prune point, and so is its callee's entry (push_insn marks
      // every BRANCH edge's target).
      if (insn.src === BPF_PSEUDO_CALL) {
        prunePoints[insn.pc] = 1;
        prunePoints[calleeOf(insn)!] = 1;
      }
      // bpf_timer_set_callback: a state already seen there needs no second walk of its callback (timer.ts).
      if (insn.src === 0 && insn.imm === 170) prunePoints[insn.pc] = 1;
    } else if (insn.code === OP_LDDW && insn.src === BPF_PSEUDO_FUNC) {
      // visit_insn treats a function's address (ld_imm64 of a callback) as a call: prune points at the
      // lddw, after it, and at the callback's entry.
      prunePoints[insn.pc] = 1;
      if (insn.pc + 2 < slots) prunePoints[insn.pc + 2] = 1;
      prunePoints[calleeOf(insn)!] = 1;
    }
  }

  return { slots, index, subprogs, prunePoints, liveIn: liveness(insns, index, callArgs), subprogOf };
}

/**
 * The `which`-th (0 or 1) place control may go after `insn` within its function, or -1: the next
 * instruction, a jump's target; calls return to the next instruction.
 */
export function successor(insn: Instruction, which: number): number {
  const { code, pc } = insn;
  if (code === OP_LDDW) return which === 0 ? pc + 2 : -1;
  if (!isJmp(code)) return which === 0 ? pc + 1 : -1;
  const op = opOf(code);
  if (op === BPF_EXIT) return -1;
  if (op === BPF_CALL) return which === 0 ? pc + 1 : -1;
  if (op === BPF_JA) return which === 0 ? jumpTarget(insn) : -1;
  return which === 0 ? pc + 1 : pc + 1 + insn.off;
}

const bit = (r: number) => 1 << r;

/**
 * Registers an instruction reads, as a bit set. Over-approximates. A helper or kfunc call reads r1..rN for
 * its N arguments when `callArgs` knows them (the kernel's compute_live_registers, by get_call_summary),
 * else r1-r5 (a local call always).
 */
function uses(insn: Instruction, callArgs?: (call: Instruction) => number | undefined): number {
  const { code, dst, src } = insn;
  switch (classOf(code)) {
    case BPF_ALU:
    case BPF_ALU64: {
      const op = opOf(code);
      const s = sourceOf(code) === BPF_X && op !== BPF_NEG && op !== BPF_END ? bit(src) : 0;
      return (op === BPF_MOV ? 0 : bit(dst)) | s;
    }
    case BPF_LDX:
      return bit(src);
    case BPF_ST:
      return bit(dst);
    case BPF_STX:
      if (modeOf(code) === BPF_ATOMIC) return bit(dst) | bit(src) | (insn.imm === BPF_CMPXCHG ? bit(0) : 0);
      return bit(dst) | bit(src);
    case BPF_LD: {
      if (code === OP_LDDW) return 0;
      const m = modeOf(code);
      // compute_live_registers leaves LD_ABS/IND at its defaults: it may read every register.
      if (m === BPF_ABS || m === BPF_IND) return 0x7ff;
      return 0;
    }
    default: {
      const op = opOf(code);
      if (op === BPF_EXIT) return bit(0);
      if (op === BPF_CALL) {
        const n = insn.src !== BPF_PSEUDO_CALL ? callArgs?.(insn) : undefined;
        return n === undefined ? 0x3e : ((1 << (n + 1)) - 1) & ~1;
      }
      if (op === BPF_JA) return 0;
      return bit(dst) | (sourceOf(code) === BPF_X ? bit(src) : 0);
    }
  }
}

/** Registers an instruction surely writes, as a bit set. */
function defs(insn: Instruction): number {
  const { code, dst, src } = insn;
  switch (classOf(code)) {
    case BPF_ALU:
    case BPF_ALU64:
    case BPF_LDX:
      return bit(dst);
    case BPF_STX:
      if (modeOf(code) === BPF_ATOMIC) {
        const fetch = (insn.imm & BPF_FETCH) !== 0;
        return (fetch ? bit(src) : 0) | (insn.imm === BPF_CMPXCHG ? bit(0) : 0);
      }
      return 0;
    case BPF_LD: {
      if (code === OP_LDDW) return bit(dst);
      // (and defines none, to the kernel's liveness: r0-r5 stay live across it)
      return 0;
    }
    case BPF_ST:
      return 0;
    default:
      return opOf(code) === BPF_CALL ? 0x3f : 0;
  }
}

/**
 * Backward may-read analysis within each function (calls read r1-r5 and write r0-r5), by slot: passes
 * from the last instruction to the first until nothing changes (one pass, plus one to confirm, for a
 * program without backward jumps).
 */
function liveness(
  insns: readonly Instruction[],
  index: Int32Array,
  callArgs?: (call: Instruction) => number | undefined,
): Uint16Array {
  const n = insns.length;
  const slots = index.length;
  const live = new Uint16Array(slots);
  const use = new Uint16Array(n);
  const def = new Uint16Array(n);
  const next0 = new Int32Array(n);
  const next1 = new Int32Array(n);
  const valid = (s: number) => (s >= 0 && s < slots && index[s]! >= 0 ? s : -1);
  for (let i = 0; i < n; i++) {
    const insn = insns[i]!;
    use[i] = uses(insn, callArgs);
    def[i] = defs(insn);
    next0[i] = valid(successor(insn, 0));
    next1[i] = valid(successor(insn, 1));
  }
  for (let changed = true; changed;) {
    changed = false;
    for (let i = n - 1; i >= 0; i--) {
      const a = next0[i]!;
      const b = next1[i]!;
      const out = (a >= 0 ? live[a]! : 0) | (b >= 0 ? live[b]! : 0);
      const inn = use[i]! | (out & ~def[i]!) | bit(10);
      const pc = insns[i]!.pc;
      if (inn !== live[pc]) {
        live[pc] = inn;
        changed = true;
      }
    }
  }
  return live;
}
