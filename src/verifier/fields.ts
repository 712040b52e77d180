/**
 * Reserved fields in the kernel's words and at the kernel's moment. The kernel checks most of an
 * instruction's unused fields only when the walk reaches it (do_check: "BPF_ALU uses reserved fields"),
 * after the whole program's control flow was accepted, so a bad field in dead code goes unnoticed and an
 * earlier fault on the path is reported first. Only loads (BPF_LDX) are checked up front, with the
 * opcodes and lddw pairs (resolve_pseudo_ldimm64).
 */
import type { Instruction } from '../isa/instruction.js';
import { checkInstruction } from '../isa/opcode-table.js';
import {
  BPF_ALU,
  BPF_ALU64,
  BPF_ATOMIC,
  BPF_CALL,
  BPF_END,
  BPF_EXIT,
  BPF_JA,
  BPF_JMP,
  BPF_JMP32,
  BPF_LD,
  BPF_LDX,
  BPF_MOV,
  BPF_NEG,
  BPF_ST,
  BPF_STX,
  classOf,
  modeOf,
  opOf,
} from '../isa/opcodes.js';

/** The kernel's name for the rule an instruction's fields break, by class and operation. */
function ruleName(insn: Instruction): string {
  const cls = classOf(insn.code);
  const op = opOf(insn.code);
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64:
      if (op === BPF_MOV) return 'BPF_MOV';
      if (op === BPF_NEG) return 'BPF_NEG';
      if (op === BPF_END) return 'BPF_END';
      return 'BPF_ALU';
    case BPF_JMP:
    case BPF_JMP32:
      if (op === BPF_CALL) return 'BPF_CALL';
      if (op === BPF_EXIT) return 'BPF_EXIT';
      if (op === BPF_JA) return 'BPF_JA';
      return 'BPF_JMP/JMP32';
    case BPF_STX:
      return modeOf(insn.code) === BPF_ATOMIC ? 'BPF_ATOMIC' : 'BPF_STX';
    case BPF_ST:
      return 'BPF_ST';
    case BPF_LDX:
      return 'BPF_LDX';
    case BPF_LD:
      return 'BPF_LD_[ABS|IND]';
    default:
      return 'BPF';
  }
}

/**
 * The fault in an instruction's fields, or undefined: a register number past r10 is `R11 is invalid`
 * (check_reg_arg), anything else the class's "uses reserved fields".
 */
export function fieldFault(insn: Instruction): string | undefined {
  const bad = checkInstruction(insn);
  if (!bad) return undefined;
  const reg = /^invalid (?:destination|source) register r(\d+)/.exec(bad);
  if (reg) return `R${reg[1]} is invalid`;
  return `${ruleName(insn)} uses reserved fields`;
}

/** Is this fault one the kernel finds before the walk (a load's fields)? */
export const checkedUpFront = (insn: Instruction): boolean => classOf(insn.code) === BPF_LDX;
