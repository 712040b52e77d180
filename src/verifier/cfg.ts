/**
 * Stage 1, the kernel's check_subprogs and check_cfg: find the subprograms (local-call and callback
 * targets), keep every jump inside its subprogram and off the second half of an `lddw`, require each
 * subprogram to end in `exit` or `goto`, and reach every instruction from the entry. Loops are allowed, as
 * for a privileged loader: stage 2 decides whether they end. Also computes, per instruction, which
 * registers may still be read (liveness) so that state pruning can ignore the dead ones.
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
import { loadFieldFault } from './fields.js';
import { Rejection } from './reject.js';

/** What stage 1 learns of a program. */
export interface Cfg {
  /** Instruction index by slot. */
  index: Map<number, number>;
  /** First slot of each subprogram, ascending (the entry first). */
  subprogs: number[];
  /** Slots where states are remembered for pruning (jump targets, after branches and calls). */
  prunePoints: Set<number>;
  /** Bit i set: register i may be read before it is written, from this slot on (per slot). */
  liveIn: Map<number, number>;
  /** Subprogram (its first slot) containing each slot. */
  subprogOf(pc: number): number;
}

const isJmp = (code: number) => classOf(code) === BPF_JMP || classOf(code) === BPF_JMP32;

/** Run stage 1 over a linked program; throws Rejection with the kernel's message at the first fault. */
export function buildCfg(insns: readonly Instruction[]): Cfg {
  if (insns.length === 0) throw new Rejection(0, 'program has no instructions');
  const index = new Map<number, number>();
  insns.forEach((insn, i) => index.set(insn.pc, i));
  const last = insns[insns.length - 1]!;
  const slots = last.pc + (last.code === OP_LDDW ? 2 : 1);

  // Subprograms.
  const starts = new Set<number>([0]);
  for (const insn of insns) {
    let target: number | undefined;
    if (isJmp(insn.code) && opOf(insn.code) === BPF_CALL && insn.src === BPF_PSEUDO_CALL)
      target = insn.pc + insn.imm + 1;
    if (insn.code === OP_LDDW && insn.src === BPF_PSEUDO_FUNC) target = insn.pc + insn.imm + 1;
    if (target === undefined) continue;
    if (target < 0 || target >= slots || !index.has(target))
      throw new Rejection(insn.pc, 'call to invalid destination');
    starts.add(target);
  }
  const subprogs = [...starts].sort((a, b) => a - b);
  const subprogOf = (pc: number): number => {
    let lo = 0;
    for (let i = 0; i < subprogs.length; i++) if (subprogs[i]! <= pc) lo = subprogs[i]!;
    return lo;
  };
  const endOf = (start: number): number => {
    const i = subprogs.indexOf(start);
    return i + 1 < subprogs.length ? subprogs[i + 1]! : slots;
  };

  // Jumps stay inside their subprogram and land on an instruction; subprograms end in exit or goto.
  const prunePoints = new Set<number>();
  const intoLddw = new Set<number>();
  for (const insn of insns) {
    if (!isJmp(insn.code)) continue;
    const op = opOf(insn.code);
    if (op === BPF_CALL || op === BPF_EXIT) continue;
    const target = insn.pc + 1 + (classOf(insn.code) === BPF_JMP32 && op === BPF_JA ? insn.imm : insn.off);
    const sp = subprogOf(insn.pc);
    if (target < sp || target >= endOf(sp))
      throw new Rejection(insn.pc, `jump out of range from insn ${insn.pc} to ${target}`);
    // Into an lddw's second half: check_cfg reports it in instruction order, with unreachable ones.
    if (!index.has(target)) intoLddw.add(target - 1);
    else prunePoints.add(target);
    // The kernel's visit_insn: a conditional jump is itself a prune point (one state before both ways).
    if (op !== BPF_JA) prunePoints.add(insn.pc);
  }
  for (const sp of subprogs) {
    const end = endOf(sp);
    let lastInsn: Instruction | undefined;
    for (let pc = end - 1; pc >= sp; pc--) {
      const i = index.get(pc);
      if (i !== undefined) {
        lastInsn = insns[i];
        break;
      }
    }
    const op = lastInsn ? opOf(lastInsn.code) : -1;
    if (!lastInsn || !isJmp(lastInsn.code) || (op !== BPF_EXIT && op !== BPF_JA))
      throw new Rejection(lastInsn?.pc ?? sp, 'last insn is not an exit or jmp');
  }

  // Opcodes, loads' fields and lddw pairs (resolve_pseudo_ldimm64), after check_subprogs' jump ranges
  // as in the kernel.
  // Other classes' fields are checked when the walk reaches them (fields.ts), as the kernel does.
  for (const insn of insns) {
    const load = loadFieldFault(insn);
    if (load) throw new Rejection(insn.pc, load);
    const bad = checkInstruction(insn);
    if (bad && (bad.startsWith('unknown opcode') || insn.code === OP_LDDW)) {
      const msg = bad.startsWith('unknown opcode')
        ? `unknown opcode ${insn.code.toString(16).padStart(2, '0')}`
        : 'invalid bpf_ld_imm64 insn';
      throw new Rejection(insn.pc, msg);
    }
    if (isJmp(insn.code) && opOf(insn.code) === BPF_CALL && sourceOf(insn.code) === BPF_X)
      throw new Rejection(insn.pc, `unknown opcode ${insn.code.toString(16)}`);
  }

  // Reachability from the entry, following calls and callback references as the kernel's DFS does.
  const seen = new Set<number>();
  const work = [0];
  while (work.length) {
    const pc = work.pop()!;
    if (seen.has(pc)) continue;
    seen.add(pc);
    for (const n of successors(insns[index.get(pc)!]!, true)) if (!seen.has(n) && index.has(n)) work.push(n);
  }
  for (const insn of insns) {
    if (!seen.has(insn.pc)) throw new Rejection(insn.pc, `unreachable insn ${insn.pc}`);
    if (intoLddw.has(insn.pc)) throw new Rejection(insn.pc, `jump into the middle of ldimm64 insn ${insn.pc}`);
  }
  for (const insn of insns) {
    if (isJmp(insn.code) && opOf(insn.code) === BPF_CALL) {
      prunePoints.add(insn.pc + 1);
      if (insn.src === BPF_PSEUDO_CALL) prunePoints.add(insn.pc);
    }
  }

  return { index, subprogs, prunePoints, liveIn: liveness(insns, index), subprogOf };
}

/** Where control may go after `insn`; with `interprocedural`, into called functions and callbacks too. */
function successors(insn: Instruction, interprocedural: boolean): number[] {
  const { code, pc } = insn;
  if (code === OP_LDDW) {
    const out = [pc + 2];
    if (interprocedural && insn.src === BPF_PSEUDO_FUNC) out.push(pc + insn.imm + 1);
    return out;
  }
  if (!isJmp(code)) return [pc + 1];
  const op = opOf(code);
  if (op === BPF_EXIT) return [];
  if (op === BPF_CALL) {
    const out = [pc + 1];
    if (interprocedural && insn.src === BPF_PSEUDO_CALL) out.push(pc + insn.imm + 1);
    return out;
  }
  if (op === BPF_JA) return [pc + 1 + (classOf(code) === BPF_JMP32 ? insn.imm : insn.off)];
  return [pc + 1, pc + 1 + insn.off];
}

/** Registers an instruction reads (use) and writes (def), as bit sets. Over-approximates uses. */
function useDef(insn: Instruction): { use: number; def: number } {
  const b = (r: number) => 1 << r;
  const { code, dst, src } = insn;
  const cls = classOf(code);
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64: {
      const op = opOf(code);
      const s = sourceOf(code) === BPF_X && op !== BPF_NEG && op !== BPF_END ? b(src) : 0;
      return { use: (op === BPF_MOV ? 0 : b(dst)) | s, def: b(dst) };
    }
    case BPF_LDX:
      return { use: b(src), def: b(dst) };
    case BPF_ST:
      return { use: b(dst), def: 0 };
    case BPF_STX: {
      if (modeOf(code) === BPF_ATOMIC) {
        const fetch = (insn.imm & BPF_FETCH) !== 0;
        const r0 = insn.imm === BPF_CMPXCHG ? b(0) : 0;
        return { use: b(dst) | b(src) | r0, def: (fetch ? b(src) : 0) | r0 };
      }
      return { use: b(dst) | b(src), def: 0 };
    }
    case BPF_LD: {
      if (code === OP_LDDW) return { use: 0, def: b(dst) };
      const m = modeOf(code);
      if (m === BPF_ABS || m === BPF_IND) return { use: b(6) | (m === BPF_IND ? b(src) : 0), def: 0x3f };
      return { use: 0, def: 0 };
    }
    default: {
      const op = opOf(code);
      if (op === BPF_EXIT) return { use: b(0), def: 0 };
      if (op === BPF_CALL) return { use: 0x3e, def: 0x3f };
      if (op === BPF_JA) return { use: 0, def: 0 };
      return { use: b(dst) | (sourceOf(code) === BPF_X ? b(src) : 0), def: 0 };
    }
  }
}

/** Backward may-read analysis within each function (calls read r1-r5 and write r0-r5). */
function liveness(insns: readonly Instruction[], index: Map<number, number>): Map<number, number> {
  const live = new Map<number, number>();
  const ud = insns.map(useDef);
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = insns.length - 1; i >= 0; i--) {
      const insn = insns[i]!;
      let out = 0;
      for (const s of successors(insn, false)) if (index.has(s)) out |= live.get(s) ?? 0;
      const { use, def } = ud[i]!;
      const inn = use | (out & ~def) | (1 << 10);
      if (inn !== (live.get(insn.pc) ?? 0)) {
        live.set(insn.pc, inn);
        changed = true;
      }
    }
  }
  return live;
}
