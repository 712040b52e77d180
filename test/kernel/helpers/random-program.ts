/**
 * Random eBPF programs that the verifier accepts by construction, for comparing the VM with the kernel.
 *
 * Layout (an XDP program, run on a 160-byte packet):
 *   prologue  save data / data_end on the stack (fp-8, fp-16), give r0-r9 random values, fill the
 *             64-byte scratch area fp-80..fp-17 with random bytes;
 *   body      random ALU64/ALU32 (every op incl. signed div/mod, movsx, byte swaps), loads, stores and
 *             atomics on the scratch area (aligned, constant offsets), forward JMP/JMP32 branches,
 *             optionally calls of program-local subprograms (appended after the epilogue);
 *   epilogue  spill r0-r9, reload the packet pointers, check 144 bytes fit, copy the ten registers and
 *             the scratch area into the packet; return 2 (XDP_PASS).
 * So the packet after the run holds the complete final state, compared byte for byte.
 *
 * Only scalars ever live in r0-r9 during the body (r10 is never an ALU operand), every stack byte read
 * was written by the prologue, and all jumps go forward: nothing the verifier could refuse.
 */
import { type Instruction, makeInsn } from '../../../src/isa/instruction.js';
import { assignPcs } from '../../../src/isa/codec.js';
import * as op from '../../../src/isa/opcodes.js';

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SCRATCH_LO = -80; // scratch area fp-80 .. fp-17
const SCRATCH_BYTES = 64;
const SPILL = -168; // r0..r9 spilled to fp-168 .. fp-89
export const OUT_BYTES = 80 + SCRATCH_BYTES;
export const PACKET_BYTES = 160;

/** Every ALU operation the generators draw from. */
export const ALU_OPS = [
  op.BPF_ADD,
  op.BPF_SUB,
  op.BPF_MUL,
  op.BPF_DIV,
  op.BPF_OR,
  op.BPF_AND,
  op.BPF_LSH,
  op.BPF_RSH,
  op.BPF_NEG,
  op.BPF_MOD,
  op.BPF_XOR,
  op.BPF_MOV,
  op.BPF_ARSH,
];
/** Every conditional jump the generators draw from. */
export const JMP_OPS = [
  op.BPF_JEQ,
  op.BPF_JGT,
  op.BPF_JGE,
  op.BPF_JSET,
  op.BPF_JNE,
  op.BPF_JSGT,
  op.BPF_JSGE,
  op.BPF_JLT,
  op.BPF_JLE,
  op.BPF_JSLT,
  op.BPF_JSLE,
];
/** Every load/store size the generators draw from. */
export const SIZES = [op.BPF_B, op.BPF_H, op.BPF_W, op.BPF_DW];
const ATOMIC_OPS = [op.BPF_ADD, op.BPF_OR, op.BPF_AND, op.BPF_XOR];

interface Pending {
  insn: Instruction;
  /** Index (in body items) of the jump target; resolved to a slot offset at the end. */
  target?: number;
  /** A call: which subprogram. */
  call?: number;
}

export interface GeneratedProgram {
  insns: Instruction[];
  seed: number;
}

/**
 * `calls`: also call two program-local subprograms (straight-line code on r0-r5 and their own stack);
 * after each call r1-r5 get fresh values, since the verifier considers them clobbered.
 */
export function randomProgram(seed: number, bodyLength = 40, calls = false): GeneratedProgram {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const reg = () => int(0, 9);
  const imm32 = (): number => {
    const k = r();
    if (k < 0.3) return int(-16, 16); // small values hit the edge cases (0, -1, shifts)
    if (k < 0.4) return pick([0x7fffffff, -0x80000000, -1, 1, 0, 31, 32, 63, 64]);
    return (r() * 4294967296) | 0;
  };
  const ins = (f: Partial<Instruction> & { code: number }) => makeInsn(f);

  const prologue: Instruction[] = [
    ins({ code: op.BPF_LDX | op.BPF_MEM | op.BPF_W, dst: 2, src: 1, off: 0 }), // r2 = ctx->data
    ins({ code: op.BPF_LDX | op.BPF_MEM | op.BPF_W, dst: 3, src: 1, off: 4 }), // r3 = ctx->data_end
    ins({ code: op.BPF_STX | op.BPF_MEM | op.BPF_DW, dst: 10, src: 2, off: -8 }),
    ins({ code: op.BPF_STX | op.BPF_MEM | op.BPF_DW, dst: 10, src: 3, off: -16 }),
  ];
  for (let i = 0; i <= 9; i++) {
    if (r() < 0.5) {
      const lo = (r() * 4294967296) | 0;
      const hi = (r() * 4294967296) | 0;
      prologue.push(ins({ code: op.OP_LDDW, dst: i, imm: lo, imm2: hi }));
    } else {
      prologue.push(ins({ code: op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, dst: i, imm: imm32() }));
    }
  }
  for (let off = SCRATCH_LO; off < SCRATCH_LO + SCRATCH_BYTES; off += 8) {
    prologue.push(ins({ code: op.BPF_STX | op.BPF_MEM | op.BPF_DW, dst: 10, src: reg(), off }));
  }

  const body: Pending[] = [];
  const scratchOff = (size: number) => {
    const bytes = size === op.BPF_DW ? 8 : size === op.BPF_W ? 4 : size === op.BPF_H ? 2 : 1;
    return SCRATCH_LO + bytes * int(0, SCRATCH_BYTES / bytes - 1);
  };
  const SUBPROGRAMS = 2;
  while (body.length < bodyLength) {
    const n = body.length;
    const k = r();
    if (calls && r() < 0.06) {
      body.push({
        insn: ins({ code: op.BPF_JMP | op.BPF_CALL, src: op.BPF_PSEUDO_CALL }),
        call: int(0, SUBPROGRAMS - 1),
      });
      for (let i = 1; i <= 5; i++)
        body.push({ insn: ins({ code: op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, dst: i, imm: imm32() }) });
      continue;
    }
    if (k < 0.5) {
      // ALU
      const cls = r() < 0.6 ? op.BPF_ALU64 : op.BPF_ALU;
      const o = pick(ALU_OPS);
      const useReg = r() < 0.5 && o !== op.BPF_NEG;
      let immv = imm32();
      let off = 0;
      if ((o === op.BPF_LSH || o === op.BPF_RSH || o === op.BPF_ARSH) && !useReg)
        immv = int(0, cls === op.BPF_ALU64 ? 63 : 31);
      if ((o === op.BPF_DIV || o === op.BPF_MOD) && r() < 0.3) off = 1; // signed division (cpu v4)
      if ((o === op.BPF_DIV || o === op.BPF_MOD) && !useReg && immv === 0) immv = 3; // the verifier refuses division by a constant 0 (by a register holding 0 is fine)
      if (o === op.BPF_NEG) immv = 0; // NEG has no operand (the verifier checks the field is zero)
      if (o === op.BPF_MOV && r() < 0.25) {
        off = pick(cls === op.BPF_ALU64 ? [8, 16, 32] : [8, 16]); // movsx
        body.push({ insn: ins({ code: cls | o | op.BPF_X, dst: reg(), src: reg(), off }) });
        continue;
      }
      body.push({
        insn: ins({
          code: cls | o | (useReg ? op.BPF_X : op.BPF_K),
          dst: reg(),
          src: useReg ? reg() : 0,
          imm: useReg ? 0 : immv,
          off,
        }),
      });
    } else if (k < 0.56) {
      // byte swaps: to-LE/to-BE (ALU) and unconditional bswap (ALU64)
      const kind = int(0, 2);
      const width = pick([16, 32, 64]);
      const code =
        kind === 2
          ? op.BPF_ALU64 | op.BPF_END | op.BPF_TO_LE
          : op.BPF_ALU | op.BPF_END | (kind === 0 ? op.BPF_TO_LE : op.BPF_TO_BE);
      body.push({ insn: ins({ code, dst: reg(), imm: width }) });
    } else if (k < 0.66) {
      const size = pick(SIZES);
      const sx = size !== op.BPF_DW && r() < 0.3;
      body.push({
        insn: ins({
          code: op.BPF_LDX | (sx ? op.BPF_MEMSX : op.BPF_MEM) | size,
          dst: reg(),
          src: 10,
          off: scratchOff(size),
        }),
      });
    } else if (k < 0.74) {
      const size = pick(SIZES);
      if (r() < 0.5)
        body.push({ insn: ins({ code: op.BPF_STX | op.BPF_MEM | size, dst: 10, src: reg(), off: scratchOff(size) }) });
      else
        body.push({ insn: ins({ code: op.BPF_ST | op.BPF_MEM | size, dst: 10, off: scratchOff(size), imm: imm32() }) });
    } else if (k < 0.8) {
      const size = r() < 0.5 ? op.BPF_W : op.BPF_DW;
      const which = r();
      let aop: number;
      if (which < 0.6) aop = pick(ATOMIC_OPS) | (r() < 0.5 ? op.BPF_FETCH : 0);
      else if (which < 0.8) aop = op.BPF_XCHG;
      else aop = op.BPF_CMPXCHG;
      body.push({
        insn: ins({ code: op.BPF_STX | op.BPF_ATOMIC | size, dst: 10, src: reg(), off: scratchOff(size), imm: aop }),
      });
    } else {
      // forward branch to a later body item (or the epilogue)
      const cls = r() < 0.6 ? op.BPF_JMP : op.BPF_JMP32;
      const target = int(n + 1, Math.min(bodyLength, n + 12)); // clamped to the body's end when resolved
      // (no unconditional `ja`: the verifier refuses the unreachable code it would leave behind)
      const useReg = r() < 0.5;
      body.push({
        insn: ins({
          code: cls | pick(JMP_OPS) | (useReg ? op.BPF_X : op.BPF_K),
          dst: reg(),
          src: useReg ? reg() : 0,
          imm: useReg ? 0 : imm32(),
        }),
        target,
      });
    }
  }

  const epilogue: Instruction[] = [];
  for (let i = 0; i <= 9; i++)
    epilogue.push(ins({ code: op.BPF_STX | op.BPF_MEM | op.BPF_DW, dst: 10, src: i, off: SPILL + 8 * i }));
  epilogue.push(
    ins({ code: op.BPF_LDX | op.BPF_MEM | op.BPF_DW, dst: 1, src: 10, off: -8 }),
    ins({ code: op.BPF_LDX | op.BPF_MEM | op.BPF_DW, dst: 2, src: 10, off: -16 }),
    ins({ code: op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, dst: 3, src: 1 }),
    ins({ code: op.BPF_ALU64 | op.BPF_ADD | op.BPF_K, dst: 3, imm: OUT_BYTES }),
    ins({ code: op.BPF_JMP | op.BPF_JGT | op.BPF_X, dst: 3, src: 2, off: 20 + (SCRATCH_BYTES / 8) * 2 }),
  );
  for (let i = 0; i <= 9; i++) {
    epilogue.push(ins({ code: op.BPF_LDX | op.BPF_MEM | op.BPF_DW, dst: 4, src: 10, off: SPILL + 8 * i }));
    epilogue.push(ins({ code: op.BPF_STX | op.BPF_MEM | op.BPF_DW, dst: 1, src: 4, off: 8 * i }));
  }
  for (let j = 0; j < SCRATCH_BYTES / 8; j++) {
    epilogue.push(ins({ code: op.BPF_LDX | op.BPF_MEM | op.BPF_DW, dst: 4, src: 10, off: SCRATCH_LO + 8 * j }));
    epilogue.push(ins({ code: op.BPF_STX | op.BPF_MEM | op.BPF_DW, dst: 1, src: 4, off: 80 + 8 * j }));
  }
  // the jgt above skips the copies (10 + 8 load/store pairs) and lands here
  epilogue.push(
    ins({ code: op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, dst: 0, imm: 2 }),
    ins({ code: op.BPF_JMP | op.BPF_EXIT }),
  );

  // Subprograms: straight-line ALU on r0-r5 (all initialised by the caller), a store and load on their
  // own stack frame, r0 set before exit.
  const subprograms: Instruction[][] = [];
  for (let sp = 0; calls && sp < SUBPROGRAMS; sp++) {
    const code: Instruction[] = [ins({ code: op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, dst: 0, src: int(1, 5) })];
    const len = int(3, 10);
    for (let i = 0; i < len; i++) {
      const cls = r() < 0.6 ? op.BPF_ALU64 : op.BPF_ALU;
      const o = pick(
        ALU_OPS.filter((x) => x !== op.BPF_NEG && x !== op.BPF_LSH && x !== op.BPF_RSH && x !== op.BPF_ARSH),
      );
      const useReg = r() < 0.5;
      let immv = imm32();
      if ((o === op.BPF_DIV || o === op.BPF_MOD) && immv === 0) immv = 5;
      code.push(
        ins({
          code: cls | o | (useReg ? op.BPF_X : op.BPF_K),
          dst: int(0, 5),
          src: useReg ? int(0, 5) : 0,
          imm: useReg ? 0 : immv,
        }),
      );
    }
    code.push(
      ins({ code: op.BPF_STX | op.BPF_MEM | op.BPF_DW, dst: 10, src: int(0, 5), off: -8 }),
      ins({ code: op.BPF_LDX | op.BPF_MEM | op.BPF_DW, dst: int(0, 5), src: 10, off: -8 }),
      ins({ code: op.BPF_JMP | op.BPF_EXIT }),
    );
    subprograms.push(code);
  }

  // Only subprograms that are called: the verifier refuses unreachable code.
  const used = [...new Set(body.filter((b) => b.call !== undefined).map((b) => b.call!))].sort();
  const all = [...prologue, ...body.map((b) => b.insn), ...epilogue, ...used.flatMap((i) => subprograms[i]!)];
  assignPcs(all);
  const bodyStart = prologue.length;
  const end = body.length;
  const slotOfBodyItem = (idx: number) => all[bodyStart + Math.min(idx, end)]!.pc; // idx === end: the epilogue's first insn
  const subStart: number[] = [];
  for (const i of used) subStart[i] = subprograms[i]![0]!.pc;
  body.forEach((b) => {
    if (b.target !== undefined) b.insn.off = slotOfBodyItem(b.target) - b.insn.pc - 1;
    if (b.call !== undefined) b.insn.imm = subStart[b.call]! - b.insn.pc - 1;
  });
  return { insns: all, seed };
}
