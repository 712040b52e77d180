/**
 * The assembler and disassembler (`bpfkit/asm`): program text in the conformance suite's syntax or LLVM's
 * to instructions and back, and llvm-objdump-style listings of objects. See docs/assembly.md.
 *
 * @module bpfkit/asm
 */
export { assemble, type AssembleOptions, type AsmSyntax } from './assemble.js';
export { disassemble, disassembleOne, type DisassembleOptions, type DisasmSyntax } from './disassemble.js';
export { formatLlvm, type LlvmFormatOptions } from './format-llvm.js';
export { formatConformance } from './format-conformance.js';
export { listFile, isElf, type ListingOptions } from './listing.js';
