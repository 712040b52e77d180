/**
 * Instructions -> text, one line per instruction (an `lddw` is one line for its two slots). Jump offsets
 * stay numeric (`goto +3`, `jne %r0, 0, +3`), so each line stands alone and the whole assembles back to
 * the same bytes. Listings with pc numbers, symbols and sections are src/asm/listing.ts.
 */
import type { Instruction } from '../isa/instruction.js';
import { formatConformance } from './format-conformance.js';
import { formatLlvm } from './format-llvm.js';

/** Disassembly syntaxes: LLVM's (as llvm-objdump prints) or the conformance suite's. */
export type DisasmSyntax = 'llvm' | 'conformance';

/** Options of `disassemble`. */
export interface DisassembleOptions {
  /** 'llvm' (default): what llvm-objdump prints. 'conformance': the conformance suite's syntax. */
  syntax?: DisasmSyntax;
  /** LLVM syntax only: `w` registers for sub-64-bit loads/stores (llvm-objdump --mattr=+alu32). */
  alu32?: boolean;
}

/** One instruction as text. */
export function disassembleOne(insn: Instruction, opts: DisassembleOptions = {}): string {
  return opts.syntax === 'conformance' ? formatConformance(insn) : formatLlvm(insn, opts);
}

/** Instructions as text, one line each. Invalid slots print as `.insn` lines that assemble back. */
export function disassemble(insns: readonly Instruction[], opts: DisassembleOptions = {}): string[] {
  return insns.map((i) => disassembleOne(i, opts));
}
