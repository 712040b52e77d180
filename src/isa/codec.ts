/**
 * Bytes <-> instructions. An instruction is 8 bytes: opcode, a byte holding the two registers, a 16-bit
 * offset and a 32-bit immediate. In little-endian objects dst is the low nibble of the register byte and
 * src the high nibble; big-endian objects swap the nibbles and the multi-byte fields.
 */
import { InputError } from '../util/errors.js';
import { type Instruction, slotsOf } from './instruction.js';
import { OP_LDDW } from './opcodes.js';

/** Byte order of encoded instructions. */
export type Endian = 'little' | 'big';

/** Options of `decodeProgram`. */
export interface DecodeOptions {
  endian?: Endian;
  /** Names the input in errors (a file name, a section name). */
  source?: string;
}

/**
 * The most instructions a program may have: the kernel loads no more (a privileged BPF_PROG_LOAD's
 * insn_cnt limit, BPF_COMPLEXITY_LIMIT_INSNS), and decoding is what bounds the memory a hostile file can
 * make bpfkit use — each instruction becomes an object, and a listing line.
 */
export const MAX_PROGRAM_INSNS = 1_000_000;

/** Throw when `bytes` hold more instruction slots than any program may have. */
export function checkProgramSize(bytes: Uint8Array, source?: string): void {
  const slots = Math.floor(bytes.length / 8);
  if (slots > MAX_PROGRAM_INSNS)
    throw new InputError(
      `${slots} instruction slots: more than any program may have (the kernel loads at most ${MAX_PROGRAM_INSNS})`,
      source,
    );
}

/**
 * Decode a whole program. Throws InputError when the length is not a multiple of 8, an `lddw` is cut
 * short, or there are more than MAX_PROGRAM_INSNS slots. Unknown opcodes decode fine (the disassembler
 * shows them, the VM's loader rejects them with the pc).
 */
export function decodeProgram(bytes: Uint8Array, opts: DecodeOptions = {}): Instruction[] {
  const where = (pc: number) => `${opts.source ? `${opts.source}: ` : ''}pc ${pc} (byte offset ${pc * 8})`;
  if (bytes.length % 8 !== 0) {
    throw new InputError(
      `program length ${bytes.length} is not a multiple of 8 bytes (trailing ${bytes.length % 8} bytes)`,
      opts.source,
    );
  }
  checkProgramSize(bytes, opts.source);
  const little = (opts.endian ?? 'little') === 'little';
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const slots = bytes.length / 8;
  const out: Instruction[] = [];
  for (let pc = 0; pc < slots;) {
    const insn = decodeSlot(dv, pc * 8, little, pc);
    if (insn.code === OP_LDDW) {
      if (pc + 1 >= slots) throw new InputError('lddw is truncated: its second 8-byte slot is missing', where(pc));
      const second = decodeSlot(dv, (pc + 1) * 8, little, pc + 1);
      if (second.code !== 0 || second.dst !== 0 || second.src !== 0 || second.off !== 0) {
        throw new InputError(
          `lddw's second slot must have zero opcode, registers and offset (got opcode 0x${second.code.toString(16)})`,
          where(pc + 1),
        );
      }
      insn.imm2 = second.imm;
    }
    out.push(insn);
    pc += slotsOf(insn);
  }
  return out;
}

function decodeSlot(dv: DataView, at: number, little: boolean, pc: number): Instruction {
  const regs = dv.getUint8(at + 1);
  return {
    pc,
    code: dv.getUint8(at),
    dst: little ? regs & 0x0f : regs >> 4,
    src: little ? regs >> 4 : regs & 0x0f,
    off: dv.getInt16(at + 2, little),
    imm: dv.getInt32(at + 4, little),
    imm2: 0,
  };
}

/** Encode instructions back to bytes; `pc` fields are ignored (slots are laid out in order). */
export function encodeProgram(insns: readonly Instruction[], endian: Endian = 'little'): Uint8Array {
  let slots = 0;
  for (const i of insns) slots += slotsOf(i);
  const out = new Uint8Array(slots * 8);
  const dv = new DataView(out.buffer);
  const little = endian === 'little';
  let at = 0;
  for (const i of insns) {
    encodeSlot(dv, at, little, i.code, i.dst, i.src, i.off, i.imm);
    at += 8;
    if (i.code === OP_LDDW) {
      encodeSlot(dv, at, little, 0, 0, 0, 0, i.imm2);
      at += 8;
    }
  }
  return out;
}

function encodeSlot(
  dv: DataView,
  at: number,
  little: boolean,
  code: number,
  dst: number,
  src: number,
  off: number,
  imm: number,
) {
  dv.setUint8(at, code);
  dv.setUint8(at + 1, little ? ((src & 0xf) << 4) | (dst & 0xf) : ((dst & 0xf) << 4) | (src & 0xf));
  dv.setInt16(at + 2, off, little);
  dv.setInt32(at + 4, imm | 0, little);
}

/** Give every instruction its slot index (after building a program by hand or editing one). */
export function assignPcs(insns: Instruction[]): Instruction[] {
  let pc = 0;
  for (const i of insns) {
    i.pc = pc;
    pc += slotsOf(i);
  }
  return insns;
}
