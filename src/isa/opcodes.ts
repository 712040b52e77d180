/**
 * eBPF opcode fields (RFC 9669). An opcode byte is `class | source | operation` for ALU/JMP classes and
 * `class | size | mode` for load/store classes.
 */

// Instruction classes (low 3 bits).
/** Class: loads of immediates and legacy packet loads (`lddw`, LD_ABS, LD_IND). */
export const BPF_LD = 0x00;
/** Class: loads from memory into a register. */
export const BPF_LDX = 0x01;
/** Class: stores of an immediate to memory. */
export const BPF_ST = 0x02;
/** Class: stores of a register to memory, and atomics. */
export const BPF_STX = 0x03;
/** Class: 32-bit arithmetic (results zero-extended to 64 bits). */
export const BPF_ALU = 0x04;
/** Class: 64-bit compares and jumps, calls and exit. */
export const BPF_JMP = 0x05;
/** Class: 32-bit compares and jumps. */
export const BPF_JMP32 = 0x06;
/** Class: 64-bit arithmetic. */
export const BPF_ALU64 = 0x07;

// Source operand (bit 3) for ALU and JMP classes.
/** Source: the immediate (`imm`). */
export const BPF_K = 0x00;
/** Source: the source register (`src`). */
export const BPF_X = 0x08;

// ALU operations (high 4 bits).
/** ALU: dst += src. */
export const BPF_ADD = 0x00;
/** ALU: dst -= src. */
export const BPF_SUB = 0x10;
/** ALU: dst *= src. */
export const BPF_MUL = 0x20;
/** ALU: dst /= src (unsigned; signed when `off` is 1; division by zero gives 0). */
export const BPF_DIV = 0x30;
/** ALU: dst |= src. */
export const BPF_OR = 0x40;
/** ALU: dst &= src. */
export const BPF_AND = 0x50;
/** ALU: dst <<= src. */
export const BPF_LSH = 0x60;
/** ALU: dst >>= src (logical). */
export const BPF_RSH = 0x70;
/** ALU: dst = -dst. */
export const BPF_NEG = 0x80;
/** ALU: dst %= src (unsigned; signed when `off` is 1; modulo zero leaves dst). */
export const BPF_MOD = 0x90;
/** ALU: dst ^= src. */
export const BPF_XOR = 0xa0;
/** ALU: dst = src (sign-extending when `off` is 8, 16 or 32). */
export const BPF_MOV = 0xb0;
/** ALU: dst >>= src (arithmetic). */
export const BPF_ARSH = 0xc0;
/** ALU: byte swap (`be16`, `le32`, `bswap64`...). */
export const BPF_END = 0xd0;

// Byte-swap direction for BPF_END in the ALU class (source bit); ALU64|END|K is the unconditional bswap.
/** BPF_END direction: to little-endian. */
export const BPF_TO_LE = 0x00;
/** BPF_END direction: to big-endian. */
export const BPF_TO_BE = 0x08;

// Jump operations (high 4 bits).
/** Jump: always. */
export const BPF_JA = 0x00;
/** Jump: if dst == src. */
export const BPF_JEQ = 0x10;
/** Jump: if dst > src (unsigned). */
export const BPF_JGT = 0x20;
/** Jump: if dst >= src (unsigned). */
export const BPF_JGE = 0x30;
/** Jump: if dst & src is not zero. */
export const BPF_JSET = 0x40;
/** Jump: if dst != src. */
export const BPF_JNE = 0x50;
/** Jump: if dst > src (signed). */
export const BPF_JSGT = 0x60;
/** Jump: if dst >= src (signed). */
export const BPF_JSGE = 0x70;
/** Call a helper, a local function or a kfunc (see `src`). */
export const BPF_CALL = 0x80;
/** Return r0 to the caller. */
export const BPF_EXIT = 0x90;
/** Jump: if dst < src (unsigned). */
export const BPF_JLT = 0xa0;
/** Jump: if dst <= src (unsigned). */
export const BPF_JLE = 0xb0;
/** Jump: if dst < src (signed). */
export const BPF_JSLT = 0xc0;
/** Jump: if dst <= src (signed). */
export const BPF_JSLE = 0xd0;

// Load/store sizes (bits 3-4).
/** Size: 4 bytes. */
export const BPF_W = 0x00;
/** Size: 2 bytes. */
export const BPF_H = 0x08;
/** Size: 1 byte. */
export const BPF_B = 0x10;
/** Size: 8 bytes. */
export const BPF_DW = 0x18;

// Load/store modes (high 3 bits).
/** Mode: 64-bit immediate (`lddw`). */
export const BPF_IMM = 0x00;
/** Mode: legacy packet load at a constant offset. */
export const BPF_ABS = 0x20;
/** Mode: legacy packet load at a register plus offset. */
export const BPF_IND = 0x40;
/** Mode: memory at a register plus offset. */
export const BPF_MEM = 0x60;
/** Mode: memory load, sign-extended. */
export const BPF_MEMSX = 0x80;
/** Mode: atomic read-modify-write (operation in `imm`). */
export const BPF_ATOMIC = 0xc0;

// Atomic operations (imm field of BPF_STX|BPF_ATOMIC).
/** Atomic flag: also return the old value. */
export const BPF_FETCH = 0x01;
/** Atomic: exchange. */
export const BPF_XCHG = 0xe0 | BPF_FETCH;
/** Atomic: compare with r0 and exchange. */
export const BPF_CMPXCHG = 0xf0 | BPF_FETCH;

// src_reg of `lddw` (BPF_LD|BPF_IMM|BPF_DW): what the 64-bit immediate means.
/** `lddw` src: imm is a map fd; the register gets the map. */
export const BPF_PSEUDO_MAP_FD = 1;
/** `lddw` src: imm is a map fd, imm2 an offset; the register gets a pointer into the map's value. */
export const BPF_PSEUDO_MAP_VALUE = 2;
/** `lddw` src: imm is the BTF id of a kernel variable. */
export const BPF_PSEUDO_BTF_ID = 3;
/** `lddw` src: imm is the offset of a local function (a callback). */
export const BPF_PSEUDO_FUNC = 4;
/** `lddw` src: imm indexes the fd array given at load; the register gets the map. */
export const BPF_PSEUDO_MAP_IDX = 5;
/** `lddw` src: like BPF_PSEUDO_MAP_IDX, with a pointer into the map's value. */
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;

// src_reg of BPF_JMP|BPF_CALL: what imm names.
/** Call src: a program-local function, imm being its offset in slots. */
export const BPF_PSEUDO_CALL = 1; // program-local call, imm = pc offset
/** Call src: a kernel function, imm being its BTF id. */
export const BPF_PSEUDO_KFUNC_CALL = 2; // kernel function by BTF id

/** The one 16-byte instruction: load a 64-bit immediate. */
export const OP_LDDW = BPF_LD | BPF_IMM | BPF_DW; // 0x18

/** The class bits of an opcode (BPF_LD ... BPF_ALU64). */
export const classOf = (code: number): number => code & 0x07;
/** The source bit of an ALU or JMP opcode (BPF_K or BPF_X). */
export const sourceOf = (code: number): number => code & 0x08;
/** The operation bits of an ALU or JMP opcode. */
export const opOf = (code: number): number => code & 0xf0;
/** The size bits of a load/store opcode (BPF_W, BPF_H, BPF_B, BPF_DW). */
export const sizeOf = (code: number): number => code & 0x18;
/** The mode bits of a load/store opcode. */
export const modeOf = (code: number): number => code & 0xe0;

/** Size in bytes of a load/store size field. */
export function sizeBytes(size: number): 1 | 2 | 4 | 8 {
  switch (size) {
    case BPF_B:
      return 1;
    case BPF_H:
      return 2;
    case BPF_W:
      return 4;
    default:
      return 8;
  }
}

/** Registers r0-r10; r10 is the read-only frame pointer. */
export const REG_COUNT = 11;
/** The frame pointer register, r10 (read-only). */
export const REG_FP = 10;
/** Kernel limits the VM shares. */
export const MAX_CALL_FRAMES = 8;
/** Bytes of stack per call frame. */
export const STACK_SIZE = 512;
