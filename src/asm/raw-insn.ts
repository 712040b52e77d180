/**
 * The escape hatch both syntaxes share: `.insn op=0x.. dst=N src=N off=N imm=N` spells out the five fields
 * of one 8-byte slot. The disassembler prints invalid instructions this way (a clear marker that still
 * assembles back to the same bytes), and the assembler accepts it anywhere.
 */
import type { Instruction } from '../isa/instruction.js';
import { checkInstruction } from '../isa/opcode-table.js';

export function formatRawInsn(insn: Instruction): string {
  const why = checkInstruction(insn);
  return `.insn op=0x${insn.code.toString(16).padStart(2, '0')} dst=${insn.dst} src=${insn.src} off=${insn.off} imm=${insn.imm}${why ? ` # invalid: ${why}` : ''}`;
}
