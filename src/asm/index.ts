export { assemble, type AssembleOptions, type AsmSyntax } from './assemble.js';
export { disassemble, disassembleOne, type DisassembleOptions, type DisasmSyntax } from './disassemble.js';
export { formatLlvm } from './format-llvm.js';
export { formatConformance } from './format-conformance.js';
export { listFile, isElf, type ListingOptions } from './listing.js';
