/**
 * The typed instruction: the five fields of an eBPF instruction, plus the second immediate of `lddw`.
 * A program is an array of these, one per instruction (not per 8-byte slot): `lddw` occupies two slots,
 * and `pc` always counts slots, so jump offsets and the numbers llvm-objdump prints line up.
 */
import { OP_LDDW } from './opcodes.js';

/** One eBPF instruction (RFC 9669): opcode, registers, offset, immediate, and its position in slots. */
export interface Instruction {
  /** Slot index of this instruction in its program (jump targets are slot indices). */
  pc: number;
  /** The opcode byte. */
  code: number;
  /** Destination register, 0-15 as encoded (only 0-10 are valid). */
  dst: number;
  /** Source register, 0-15 as encoded (only 0-10 are valid; pseudo kinds for lddw/call). */
  src: number;
  /** Signed 16-bit offset. */
  off: number;
  /** Signed 32-bit immediate. */
  imm: number;
  /** `lddw` only: the second slot's immediate, the constant's upper 32 bits (signed 32-bit). Else 0. */
  imm2: number;
}

/** True for the one 16-byte instruction, `lddw`. */
export function isWide(code: number): boolean {
  return code === OP_LDDW;
}

/** Number of 8-byte slots an instruction occupies. */
export function slotsOf(insn: Pick<Instruction, 'code'>): 1 | 2 {
  return insn.code === OP_LDDW ? 2 : 1;
}

/** The 64-bit constant of an `lddw` as a BigInt (off the hot path: assembler, disassembler, loaders). */
export function lddwValue(insn: Pick<Instruction, 'imm' | 'imm2'>): bigint {
  return (BigInt(insn.imm2 >>> 0) << 32n) | BigInt(insn.imm >>> 0);
}

/** Split a 64-bit constant into the two signed 32-bit immediates of an `lddw`. */
export function splitLddw(value: bigint): { imm: number; imm2: number } {
  const v = BigInt.asUintN(64, value);
  return { imm: Number(BigInt.asIntN(32, v)), imm2: Number(BigInt.asIntN(32, v >> 32n)) };
}

/** An instruction with every field not given set to zero. */
export function makeInsn(fields: Partial<Instruction> & { code: number }): Instruction {
  return {
    pc: fields.pc ?? 0,
    code: fields.code,
    dst: fields.dst ?? 0,
    src: fields.src ?? 0,
    off: fields.off ?? 0,
    imm: fields.imm ?? 0,
    imm2: fields.imm2 ?? 0,
  };
}
