/**
 * The eBPF instruction set (`bpfkit/isa`, RFC 9669): opcode fields by name, the `Instruction` model,
 * encoding and decoding in both byte orders, and the opcode table that says which instructions are valid.
 *
 * @module bpfkit/isa
 */
export * from './opcodes.js';
export * from './instruction.js';
export * from './codec.js';
export * from './opcode-table.js';
