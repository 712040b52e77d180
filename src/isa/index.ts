export * from './opcodes.js';
export * from './instruction.js';
export * from './codec.js';
export * from './opcode-table.js';
