/**
 * The classic BPF instruction, `struct sock_filter` of linux/filter.h: a 16-bit opcode, two 8-bit jump
 * offsets (taken when true / false, counted from the next instruction) and a 32-bit constant `k`.
 * The opcode's fields share their names with eBPF (linux/bpf_common.h) but classic BPF has its own
 * classes (RET, MISC), modes (LEN, MSH) and only W/H/B sizes, so they are spelled out here rather than
 * borrowed from src/isa, whose values for class 6/7 mean JMP32/ALU64.
 */

/** One classic BPF instruction (`struct sock_filter`). `k` is held unsigned (0..2^32-1). */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

// Classes (code & 0x07).
/** class: load into A */
export const BPF_LD = 0x00;
/** class: load into X */
export const BPF_LDX = 0x01;
/** class: store A into M[k] */
export const BPF_ST = 0x02;
/** class: store X into M[k] */
export const BPF_STX = 0x03;
/** class: arithmetic on A */
export const BPF_ALU = 0x04;
/** class: jumps */
export const BPF_JMP = 0x05;
/** class: return */
export const BPF_RET = 0x06;
/** class: register transfers (TAX, TXA) */
export const BPF_MISC = 0x07;

// Load sizes (code & 0x18).
/** size: 32-bit word */
export const BPF_W = 0x00;
/** size: 16-bit half word */
export const BPF_H = 0x08;
/** size: byte */
export const BPF_B = 0x10;

// Load modes (code & 0xe0).
/** mode: the constant k */
export const BPF_IMM = 0x00;
/** mode: packet at offset k */
export const BPF_ABS = 0x20;
/** mode: packet at X + k */
export const BPF_IND = 0x40;
/** mode: scratch memory M[k] */
export const BPF_MEM = 0x60;
/** mode: the packet length */
export const BPF_LEN = 0x80;
/** mode: 4 * (P[k] & 0xf), the IPv4 header length (LDX only) */
export const BPF_MSH = 0xa0;

// ALU and jump operations (code & 0xf0).
/** ALU: A += src */
export const BPF_ADD = 0x00;
/** ALU: A -= src */
export const BPF_SUB = 0x10;
/** ALU: A *= src */
export const BPF_MUL = 0x20;
/** ALU: A /= src (unsigned) */
export const BPF_DIV = 0x30;
/** ALU: A |= src */
export const BPF_OR = 0x40;
/** ALU: A &= src */
export const BPF_AND = 0x50;
/** ALU: A <<= src */
export const BPF_LSH = 0x60;
/** ALU: A >>= src (logical) */
export const BPF_RSH = 0x70;
/** ALU: A = -A */
export const BPF_NEG = 0x80;
/** ALU: A %= src (unsigned) */
export const BPF_MOD = 0x90;
/** ALU: A ^= src */
export const BPF_XOR = 0xa0;
/** jump: always, by k */
export const BPF_JA = 0x00;
/** jump: A == src */
export const BPF_JEQ = 0x10;
/** jump: A > src (unsigned) */
export const BPF_JGT = 0x20;
/** jump: A >= src (unsigned) */
export const BPF_JGE = 0x30;
/** jump: A & src != 0 */
export const BPF_JSET = 0x40;

// Operand sources (code & 0x08) and the return source (code & 0x18).
/** source: the constant k */
export const BPF_K = 0x00;
/** source: register X */
export const BPF_X = 0x08;
/** return source: register A */
export const BPF_A = 0x10;

// MISC operations (code & 0xf8).
/** MISC: X = A */
export const BPF_TAX = 0x00;
/** MISC: A = X */
export const BPF_TXA = 0x80;

/** BPF_MAXINSNS (linux/bpf_common.h): the most instructions a classic program may have. */
export const BPF_MAXINSNS = 4096;
/** BPF_MEMWORDS (linux/filter.h): the scratch memory M[0..15]. */
export const BPF_MEMWORDS = 16;

/** The opcode's class. */
export const bpfClass = (code: number): number => code & 0x07;
/** The opcode's load size (W/H/B). */
export const bpfSize = (code: number): number => code & 0x18;
/** The opcode's load mode (IMM/ABS/IND/MEM/LEN/MSH). */
export const bpfMode = (code: number): number => code & 0xe0;
/** The opcode's ALU or jump operation. */
export const bpfOp = (code: number): number => code & 0xf0;
/** The opcode's operand source (K or X). */
export const bpfSrc = (code: number): number => code & 0x08;
/** A return's value source (K, X or A). */
export const bpfRval = (code: number): number => code & 0x18;
/** A MISC instruction's operation (TAX/TXA). */
export const bpfMiscOp = (code: number): number => code & 0xf8;

/** Bytes a load of this size reads. */
export function sizeBytes(code: number): 1 | 2 | 4 {
  const s = bpfSize(code);
  return s === BPF_B ? 1 : s === BPF_H ? 2 : 4;
}

/** Build an instruction; `k` is stored unsigned so negative offsets (SKF_NET_OFF + n) may be passed. */
export function stmt(code: number, k: number): SockFilter {
  return { code, jt: 0, jf: 0, k: k >>> 0 };
}

/** Build a conditional jump. */
export function jump(code: number, k: number, jt: number, jf: number): SockFilter {
  return { code, jt, jf, k: k >>> 0 };
}

/** True for the conditional jumps (JEQ/JGT/JGE/JSET, K or X), which use jt/jf. */
export function isConditionalJump(code: number): boolean {
  return bpfClass(code) === BPF_JMP && bpfOp(code) !== BPF_JA;
}
