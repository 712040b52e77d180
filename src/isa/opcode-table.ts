/**
 * Which instructions exist (RFC 9669 at CPU v4, plus the legacy packet loads) and which field values each
 * one allows. The assembler, the disassembler (`disasm --strict`) and the VM's loader share this one table,
 * so "valid" means the same thing everywhere.
 *
 * Two questions, two functions:
 * - describeOpcode(code): what does this opcode byte mean (kind, width, mnemonic)? undefined = no such opcode.
 * - checkInstruction(insn): are the other fields (registers, offset, imm) legal for that opcode?
 * checkProgram() adds the whole-program rules (jump targets in range and not into the middle of an `lddw`).
 *
 * Deliberately NOT checked (runtime semantics, not encoding): shift amounts >= width, division by an
 * immediate zero, writes to r10 — the conformance suite runs such programs and expects results.
 *
 * callx (0x8d, BPF_JMP|BPF_CALL|BPF_X) takes its target register in the `dst` field and needs imm = 0,
 * as the conformance suite's assembler encodes `call %r2`. (LLVM puts the register in `imm`; bpfkit does not
 * accept that form: the kernel has no callx at all, and one encoding keeps disassembly round-trippable.)
 */
import {
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_ALU64,
  BPF_AND,
  BPF_ARSH,
  BPF_ATOMIC,
  BPF_B,
  BPF_CALL,
  BPF_CMPXCHG,
  BPF_DIV,
  BPF_DW,
  BPF_END,
  BPF_EXIT,
  BPF_FETCH,
  BPF_H,
  BPF_IND,
  BPF_JA,
  BPF_JMP,
  BPF_JMP32,
  BPF_LD,
  BPF_LDX,
  BPF_LSH,
  BPF_MEM,
  BPF_MEMSX,
  BPF_MOD,
  BPF_MOV,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RSH,
  BPF_ST,
  BPF_STX,
  BPF_SUB,
  BPF_W,
  BPF_X,
  BPF_XCHG,
  BPF_XOR,
  OP_LDDW,
  REG_COUNT,
  classOf,
  opOf,
  sizeBytes,
} from './opcodes.js';
import { type Instruction, slotsOf } from './instruction.js';

/** What an opcode byte does, grouped by the operand shape the assembler/disassembler/VM care about. */
export type InsnKind =
  | 'alu' // dst op= src|imm (ALU, ALU64), including div/mod (signed with off=1) and mov/movsx
  | 'neg' // dst = -dst
  | 'end' // le/be (ALU class) and bswap (ALU64 class): imm = 16|32|64
  | 'jump' // conditional jump (JMP, JMP32): if dst op src|imm goto pc+off+1
  | 'ja' // JMP|JA: goto pc+off+1
  | 'ja32' // JMP32|JA (gotol): goto pc+imm+1
  | 'call' // JMP|CALL|K: src 0 helper imm, 1 local call pc+imm+1, 2 kfunc by BTF id
  | 'callx' // JMP|CALL|X: call the helper/function whose id/address is in register dst
  | 'exit'
  | 'lddw' // LD|IMM|DW, 16 bytes
  | 'ld-abs' // LD|ABS|size: r0 = packet[imm]
  | 'ld-ind' // LD|IND|size: r0 = packet[src + imm]
  | 'ldx' // dst = *(size *)(src + off), zero-extended
  | 'ldxsx' // dst = *(ssize *)(src + off), sign-extended (MEMSX)
  | 'st' // *(size *)(dst + off) = imm
  | 'stx' // *(size *)(dst + off) = src
  | 'atomic'; // STX|ATOMIC W/DW, operation in imm

/** What the opcode table knows of one opcode: its kind, mnemonic and allowed fields. */
export interface OpcodeInfo {
  code: number;
  kind: InsnKind;
  /** The conformance-syntax mnemonic stem: 'add32', 'jne', 'ldxw', 'lddw', 'lock'... (see docs/assembly.md). */
  name: string;
  /** ALU/JMP: operand width 32 or 64. Memory kinds: access size in bytes (1, 2, 4, 8). */
  width: number;
  /** ALU/JMP/CALL: operand is a register (BPF_X) rather than the immediate. */
  reg: boolean;
}

const ALU_NAMES: Record<number, string> = {
  [BPF_ADD]: 'add',
  [BPF_SUB]: 'sub',
  [BPF_MUL]: 'mul',
  [BPF_DIV]: 'div',
  [BPF_OR]: 'or',
  [BPF_AND]: 'and',
  [BPF_LSH]: 'lsh',
  [BPF_RSH]: 'rsh',
  [BPF_NEG]: 'neg',
  [BPF_MOD]: 'mod',
  [BPF_XOR]: 'xor',
  [BPF_MOV]: 'mov',
  [BPF_ARSH]: 'arsh',
  [BPF_END]: 'end',
};
const JMP_NAMES: Record<number, string> = {
  0x10: 'jeq',
  0x20: 'jgt',
  0x30: 'jge',
  0x40: 'jset',
  0x50: 'jne',
  0x60: 'jsgt',
  0x70: 'jsge',
  0xa0: 'jlt',
  0xb0: 'jle',
  0xc0: 'jslt',
  0xd0: 'jsle',
};
const SIZE_SUFFIX: Record<number, string> = { [BPF_B]: 'b', [BPF_H]: 'h', [BPF_W]: 'w', [BPF_DW]: 'dw' };

/** Valid `imm` values of STX|ATOMIC: add/or/and/xor (optionally | FETCH), xchg, cmpxchg. */
export const ATOMIC_OPS: readonly number[] = [
  BPF_ADD,
  BPF_ADD | BPF_FETCH,
  BPF_OR,
  BPF_OR | BPF_FETCH,
  BPF_AND,
  BPF_AND | BPF_FETCH,
  BPF_XOR,
  BPF_XOR | BPF_FETCH,
  BPF_XCHG,
  BPF_CMPXCHG,
];

function build(): (OpcodeInfo | undefined)[] {
  const t: (OpcodeInfo | undefined)[] = new Array(256).fill(undefined);
  const put = (code: number, kind: InsnKind, name: string, width: number, reg = false) => {
    t[code] = { code, kind, name, width, reg };
  };
  for (const cls of [BPF_ALU, BPF_ALU64]) {
    const w = cls === BPF_ALU ? 32 : 64;
    const sfx = cls === BPF_ALU ? '32' : '';
    for (let op = 0; op <= BPF_ARSH; op += 0x10) {
      if (op === BPF_NEG) {
        put(cls | op, 'neg', `neg${sfx}`, w);
        continue;
      }
      put(cls | op, 'alu', `${ALU_NAMES[op]}${sfx}`, w);
      put(cls | op | BPF_X, 'alu', `${ALU_NAMES[op]}${sfx}`, w, true);
    }
  }
  put(BPF_ALU | BPF_END, 'end', 'le', 32); // BPF_TO_LE
  put(BPF_ALU | BPF_END | BPF_X, 'end', 'be', 32); // BPF_TO_BE
  put(BPF_ALU64 | BPF_END, 'end', 'bswap', 64); // unconditional swap (v4)
  for (const cls of [BPF_JMP, BPF_JMP32]) {
    const w = cls === BPF_JMP ? 64 : 32;
    const sfx = cls === BPF_JMP ? '' : '32';
    for (const [op, name] of Object.entries(JMP_NAMES)) {
      put(cls | Number(op), 'jump', `${name}${sfx}`, w);
      put(cls | Number(op) | BPF_X, 'jump', `${name}${sfx}`, w, true);
    }
  }
  put(BPF_JMP | BPF_JA, 'ja', 'ja', 64);
  put(BPF_JMP32 | BPF_JA, 'ja32', 'ja32', 32);
  put(BPF_JMP | BPF_CALL, 'call', 'call', 64);
  put(BPF_JMP | BPF_CALL | BPF_X, 'callx', 'call', 64, true);
  put(BPF_JMP | BPF_EXIT, 'exit', 'exit', 64);
  put(OP_LDDW, 'lddw', 'lddw', 8);
  for (const size of [BPF_B, BPF_H, BPF_W]) {
    const bytes = sizeBytes(size);
    put(BPF_LD | BPF_ABS | size, 'ld-abs', `ldabs${SIZE_SUFFIX[size]}`, bytes);
    put(BPF_LD | BPF_IND | size, 'ld-ind', `ldind${SIZE_SUFFIX[size]}`, bytes);
    put(BPF_LDX | BPF_MEMSX | size, 'ldxsx', `ldxs${SIZE_SUFFIX[size]}`, bytes);
  }
  for (const size of [BPF_B, BPF_H, BPF_W, BPF_DW]) {
    const bytes = sizeBytes(size);
    put(BPF_LDX | BPF_MEM | size, 'ldx', `ldx${SIZE_SUFFIX[size]}`, bytes);
    put(BPF_ST | BPF_MEM | size, 'st', `st${SIZE_SUFFIX[size]}`, bytes);
    put(BPF_STX | BPF_MEM | size, 'stx', `stx${SIZE_SUFFIX[size]}`, bytes);
  }
  put(BPF_STX | BPF_ATOMIC | BPF_W, 'atomic', 'lock', 4);
  put(BPF_STX | BPF_ATOMIC | BPF_DW, 'atomic', 'lock', 8);
  return t;
}

const TABLE = build();

/** Every valid opcode byte, ascending (for docs, fuzzing and exhaustive tests). */
export const opcodeTable: readonly OpcodeInfo[] = TABLE.filter((x): x is OpcodeInfo => x !== undefined);

/** What an opcode byte means, or undefined when no eBPF instruction has it. */
export function describeOpcode(code: number): OpcodeInfo | undefined {
  return TABLE[code & 0xff];
}

const isReg = (r: number) => r >= 0 && r < REG_COUNT;

/**
 * Why an instruction is not valid, or undefined when it is. Checks the opcode and every field the opcode
 * reserves (must-be-zero fields, register numbers 0-10, allowed offsets and immediates). Messages name the
 * field and value, e.g. "invalid source register r12" or "reserved field off must be 0 (got 3)".
 */
export function checkInstruction(insn: Instruction): string | undefined {
  const info = TABLE[insn.code];
  if (!info) return `unknown opcode 0x${insn.code.toString(16).padStart(2, '0')}`;
  const { dst, src, off, imm } = insn;
  const zero = (field: string, v: number) => (v !== 0 ? `reserved field ${field} must be 0 (got ${v})` : undefined);
  const dstOk = () => (isReg(dst) ? undefined : `invalid destination register r${dst}`);
  const srcOk = () => (isReg(src) ? undefined : `invalid source register r${src}`);
  const op = opOf(insn.code);
  switch (info.kind) {
    case 'alu': {
      const e = dstOk() ?? (info.reg ? (srcOk() ?? zero('imm', imm)) : zero('src', src));
      if (e) return e;
      if (op === BPF_DIV || op === BPF_MOD)
        return off === 0 || off === 1
          ? undefined
          : `${info.name}: offset must be 0 (unsigned) or 1 (signed), got ${off}`;
      if (op === BPF_MOV && info.reg) {
        const ok = off === 0 || off === 8 || off === 16 || (off === 32 && info.width === 64);
        return ok
          ? undefined
          : `${info.name}: sign-extension width (offset) must be 0, 8, 16${info.width === 64 ? ' or 32' : ''}, got ${off}`;
      }
      return zero('off', off);
    }
    case 'neg':
      return dstOk() ?? zero('src', src) ?? zero('off', off) ?? zero('imm', imm);
    case 'end':
      return (
        dstOk() ??
        zero('src', src) ??
        zero('off', off) ??
        (imm === 16 || imm === 32 || imm === 64 ? undefined : `byte swap width must be 16, 32 or 64, got ${imm}`)
      );
    case 'jump':
      return dstOk() ?? (info.reg ? (srcOk() ?? zero('imm', imm)) : zero('src', src));
    case 'ja':
      return zero('dst', dst) ?? zero('src', src) ?? zero('imm', imm);
    case 'ja32':
      return zero('dst', dst) ?? zero('src', src) ?? zero('off', off);
    case 'call':
      if (src > 2) return `call: source field must be 0 (helper), 1 (local call) or 2 (kfunc), got ${src}`;
      return zero('dst', dst) ?? zero('off', off);
    case 'callx':
      return dstOk() ?? zero('src', src) ?? zero('off', off) ?? zero('imm', imm);
    case 'exit':
      return zero('dst', dst) ?? zero('src', src) ?? zero('off', off) ?? zero('imm', imm);
    case 'lddw':
      if (src > 6) return `lddw: source field (pseudo kind) must be 0-6, got ${src}`;
      return dstOk() ?? zero('off', off);
    case 'ld-abs':
      return zero('dst', dst) ?? zero('src', src) ?? zero('off', off);
    case 'ld-ind':
      return zero('dst', dst) ?? srcOk() ?? zero('off', off);
    case 'ldx':
    case 'ldxsx':
      return dstOk() ?? srcOk() ?? zero('imm', imm);
    case 'st':
      return dstOk() ?? zero('src', src);
    case 'stx':
      return dstOk() ?? srcOk() ?? zero('imm', imm);
    case 'atomic':
      if (!ATOMIC_OPS.includes(imm)) return `atomic: unknown operation imm=0x${(imm >>> 0).toString(16)}`;
      return dstOk() ?? srcOk();
  }
}

/** The first invalid instruction of a program, as `checkProgram` reports it. */
export interface ProgramProblem {
  pc: number;
  message: string;
}

/**
 * The first problem of a whole program, or undefined: every instruction valid (checkInstruction), every
 * jump and local call lands on an instruction inside the program (not past the end, not on the second
 * slot of an `lddw`). Empty programs are a problem too. Does not require a final `exit` (the VM reports
 * falling off the end at run time, like the conformance suite expects).
 */
export function checkProgram(insns: readonly Instruction[]): ProgramProblem | undefined {
  if (insns.length === 0) return { pc: 0, message: 'empty program' };
  let slots = 0;
  for (const i of insns) slots += slotsOf(i);
  // starts[s] = 1 when slot s begins an instruction.
  const starts = new Uint8Array(slots);
  for (const i of insns) starts[i.pc] = 1;
  for (const insn of insns) {
    const bad = checkInstruction(insn);
    if (bad) return { pc: insn.pc, message: bad };
    const target = jumpTarget(insn);
    if (target === undefined) continue;
    if (target < 0 || target >= slots)
      return { pc: insn.pc, message: `jump target ${target} is outside the program (0-${slots - 1})` };
    if (!starts[target]) return { pc: insn.pc, message: `jump target ${target} is the second half of an lddw` };
  }
  return undefined;
}

/** The slot a jump / `gotol` / local call lands on, or undefined for instructions that don't branch. */
export function jumpTarget(insn: Instruction): number | undefined {
  const cls = classOf(insn.code);
  if (cls !== BPF_JMP && cls !== BPF_JMP32) return undefined;
  const info = TABLE[insn.code];
  if (!info) return undefined;
  switch (info.kind) {
    case 'jump':
    case 'ja':
      return insn.pc + insn.off + 1;
    case 'ja32':
      return insn.pc + insn.imm + 1;
    case 'call':
      return insn.src === 1 ? insn.pc + insn.imm + 1 : undefined;
    default:
      return undefined;
  }
}
