/**
 * What every eBPF instruction does, defined once, for both engines. The table is indexed by opcode byte
 * and built from src/isa's named fields (`BPF_ALU64 | BPF_ADD | BPF_X`); nothing else in the VM spells an
 * instruction's semantics.
 *
 * - ALU instructions and jump conditions are JavaScript source templates over named operands (the two
 *   int32 halves of each 64-bit register, see interpreter-int64.ts). The compiled engine (jit-insn.ts)
 *   fills them in per instruction with its register locals and literal immediates; the interpreter
 *   (interpreter-switch.ts) fills them in once, at module load, with locals it loads from the register
 *   file, and compiles its switch from them. A template may specialize on what is known when it is
 *   filled in (a literal shift count, a zero high half): a `Known` field is a number when fixed and an
 *   expression otherwise, and choose()/pick() turn the same definition into a static choice or a runtime
 *   test.
 * - Everything else (memory access, calls, exits, lddw, packet loads, atomics) is data: sizes,
 *   signedness, where a stored value comes from. Each engine has one emitter per kind, and the register
 *   writes they share (loadInto) are templates here too.
 *
 * Templates may use the scratch local `t`, the shared helper object `X` (SEMANTICS_HELPERS and more) and
 * `O`, the int64 helpers' result pair. Operands must be side-effect free; a template never reads the
 * second operand after writing the destination, so dst === src needs no care.
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
  BPF_DIV,
  BPF_DW,
  BPF_END,
  BPF_EXIT,
  BPF_H,
  BPF_IND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JLE,
  BPF_JLT,
  BPF_JMP,
  BPF_JMP32,
  BPF_JNE,
  BPF_JSET,
  BPF_JSGE,
  BPF_JSGT,
  BPF_JSLE,
  BPF_JSLT,
  BPF_K,
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
  BPF_TO_BE,
  BPF_TO_LE,
  BPF_W,
  BPF_X,
  BPF_XOR,
  OP_LDDW,
  sizeBytes,
} from '../isa/index.js';
import * as I64 from './interpreter-int64.js';

/** A field value while generating code: a number when known (the compiled engine), else a JS expression. */
export type Known = number | string;

/** Operands of an ALU template. */
export interface AluOperands {
  /** The destination's low / high half: assignable names (hi of r10 never occurs: r10 is read-only). */
  dl: string;
  dh: string;
  /** The second operand's halves: the source register, or the sign-extended immediate of a K form. */
  bl: string;
  bh: string;
  /** The immediate as a number when it is the operand (K form) and known; undefined otherwise. */
  k: number | undefined;
  /** The imm field (byte-swap width) and off field (signed div/mod, movsx width). */
  imm: Known;
  off: Known;
}

/** Operands of a jump condition: (ah:al) vs (bh:bl); 32-bit conditions use al and bl only. */
export interface CondOperands {
  al: string;
  ah: string;
  bl: string;
  bh: string;
}

/** One instruction's semantics (see the file comment). */
export type InsnSemantics =
  | { kind: 'alu'; code: number; emit: (o: AluOperands) => string }
  | { kind: 'jump'; code: number; width: 32 | 64; cond: (o: CondOperands) => string }
  /** JMP|JA (offset in off) and JMP32|JA, `gotol` (offset in imm). */
  | { kind: 'ja'; code: number; wide: boolean }
  /** JMP|CALL: src 1 = local call pc+imm+1, else helper imm. */
  | { kind: 'call'; code: number }
  /** JMP|CALL|X: the helper number is in register dst. */
  | { kind: 'callx'; code: number }
  | { kind: 'exit'; code: number }
  /** dst = the 64-bit constant (imm, imm2) of the 16-byte instruction. */
  | { kind: 'lddw'; code: number }
  /** dst = *(size *)(src + off), zero- or sign-extended. */
  | { kind: 'load'; code: number; size: 1 | 2 | 4 | 8; signed: boolean }
  /** *(size *)(dst + off) = imm (ST) or src (STX). */
  | { kind: 'store'; code: number; size: 1 | 2 | 4 | 8; fromImm: boolean }
  /** STX|ATOMIC: the operation is in imm (interpreter-ops.ts atomic()). */
  | { kind: 'atomic'; code: number; size: 4 | 8 }
  /** LD_ABS / LD_IND: r0 = the packet's big-endian value at imm (+ src). */
  | { kind: 'packet'; code: number; size: 1 | 2 | 4; indirect: boolean };

/** `v === n ? yes : no` as source: decided now when v is known, else a runtime test (statements). */
export function pick(v: Known, n: number, yes: string, no: string): string {
  if (typeof v === 'number') return v === n ? yes : no;
  return `if (${v} === ${n}) { ${yes} } else { ${no} }`;
}

/** The first case whose value equals v, else `otherwise`, as statements (a runtime if-chain when v is not known). */
export function choose(v: Known, cases: readonly (readonly [number, string])[], otherwise: string): string {
  if (typeof v === 'number') return cases.find(([n]) => n === v)?.[1] ?? otherwise;
  let src = `{ ${otherwise} }`;
  for (let i = cases.length - 1; i >= 0; i--) {
    const [n, then] = cases[i]!;
    src = `if (${v} === ${n}) { ${then} } else ${src}`;
  }
  return src;
}

/** Expression form of choose(). */
export function chooseExpr(v: Known, cases: readonly (readonly [number, string])[], otherwise: string): string {
  if (typeof v === 'number') return cases.find(([n]) => n === v)?.[1] ?? otherwise;
  return cases.reduceRight((rest, [n, src]) => `(${v} === ${n} ? ${src} : ${rest})`, otherwise);
}

/** The int64 helpers templates call through `X`. */
export const SEMANTICS_HELPERS = { ...I64 };

/** A call to an int64 helper that leaves its result in O, into the destination. */
const viaOut = (o: AluOperands, call: string) => `${call}; ${o.dl} = O[0]; ${o.dh} = O[1];`;
/** 32-bit ALU: the result expression, zero-extended into the destination. */
const alu32 = (e: (o: AluOperands) => string) => (o: AluOperands) => `${o.dl} = ${e(o)}; ${o.dh} = 0;`;
/** 32-bit shift count: a literal when known, else masked at run time. */
const count32 = (o: AluOperands) => (o.k !== undefined ? String(o.k & 31) : `(${o.bl} & 31)`);
/** Byte swap of the destination to `imm` bits (16 and 32 zero-extend). */
const swap = (o: AluOperands) =>
  choose(
    o.imm,
    [
      [16, `${o.dl} = X.bswap16(${o.dl}); ${o.dh} = 0;`],
      [32, `${o.dl} = X.bswap32(${o.dl}); ${o.dh} = 0;`],
    ],
    `t = X.bswap32(${o.dh}); ${o.dh} = X.bswap32(${o.dl}); ${o.dl} = t | 0;`,
  );
/** 64-bit shift by a known count (specialized inline), else through the int64 helper. */
const shift64 = (helper: string, byConstant: (o: AluOperands, k: number) => string) => (o: AluOperands) => {
  if (o.k === undefined) return viaOut(o, `X.${helper}(${o.dl}, ${o.dh}, ${o.bl})`);
  const k = o.k & 63;
  return k === 0 ? '' : byConstant(o, k);
};

/** [operation, ALU (32-bit) template, ALU64 template]; both the K and the X form of each. */
const ALU_OPS: readonly (readonly [number, (o: AluOperands) => string, (o: AluOperands) => string])[] = [
  [
    BPF_ADD,
    alu32((o) => `(${o.dl} + ${o.bl}) | 0`),
    // all-int32 carry (no doubles, so V8 never deoptimizes on overflow): carry iff the sum wrapped; a
    // literal zero high half is left out (compiled functions must stay small, see interpreter-jit.ts)
    (o) =>
      `t = (${o.dl} + ${o.bl}) | 0; ${o.dh} = (${o.dh}${o.bh === '0' ? '' : ` + ${o.bh}`} + ((t >>> 0) < (${o.dl} >>> 0) ? 1 : 0)) | 0; ${o.dl} = t;`,
  ],
  [
    BPF_SUB,
    alu32((o) => `(${o.dl} - ${o.bl}) | 0`),
    (o) =>
      `t = (${o.dl} - ${o.bl}) | 0; ${o.dh} = (${o.dh}${o.bh === '0' ? '' : ` - ${o.bh}`} - ((${o.dl} >>> 0) < (${o.bl} >>> 0) ? 1 : 0)) | 0; ${o.dl} = t;`,
  ],
  [
    BPF_MUL,
    alu32((o) => `Math.imul(${o.dl}, ${o.bl})`),
    (o) => viaOut(o, `X.mul64(${o.dl}, ${o.dh}, ${o.bl}, ${o.bh})`),
  ],
  // off = 1: signed division and modulo (sdiv, smod)
  [
    BPF_DIV,
    alu32((o) => chooseExpr(o.off, [[1, `X.div32s(${o.dl}, ${o.bl})`]], `X.div32u(${o.dl}, ${o.bl})`)),
    (o) =>
      pick(
        o.off,
        1,
        viaOut(o, `X.div64s(${o.dl}, ${o.dh}, ${o.bl}, ${o.bh})`),
        viaOut(o, `X.div64u(${o.dl}, ${o.dh}, ${o.bl}, ${o.bh})`),
      ),
  ],
  [
    BPF_MOD,
    alu32((o) => chooseExpr(o.off, [[1, `X.mod32s(${o.dl}, ${o.bl})`]], `X.mod32u(${o.dl}, ${o.bl})`)),
    (o) =>
      pick(
        o.off,
        1,
        viaOut(o, `X.mod64s(${o.dl}, ${o.dh}, ${o.bl}, ${o.bh})`),
        viaOut(o, `X.mod64u(${o.dl}, ${o.dh}, ${o.bl}, ${o.bh})`),
      ),
  ],
  [
    BPF_OR,
    alu32((o) => `${o.dl} | ${o.bl}`),
    (o) => `${o.dl} |= ${o.bl};${o.bh === '0' ? '' : ` ${o.dh} |= ${o.bh};`}`,
  ],
  [
    BPF_AND,
    alu32((o) => `${o.dl} & ${o.bl}`),
    (o) => `${o.dl} &= ${o.bl}; ${o.bh === '0' ? `${o.dh} = 0;` : o.bh === '(-1)' ? '' : `${o.dh} &= ${o.bh};`}`,
  ],
  [
    BPF_XOR,
    alu32((o) => `${o.dl} ^ ${o.bl}`),
    (o) => `${o.dl} ^= ${o.bl};${o.bh === '0' ? '' : ` ${o.dh} ^= ${o.bh};`}`,
  ],
  [
    BPF_LSH,
    alu32((o) => `${o.dl} << ${count32(o)}`),
    shift64('lsh64', (o, k) =>
      k < 32
        ? `${o.dh} = (${o.dh} << ${k}) | (${o.dl} >>> ${32 - k}); ${o.dl} = ${o.dl} << ${k};`
        : `${o.dh} = ${o.dl} << ${k - 32}; ${o.dl} = 0;`,
    ),
  ],
  [
    BPF_RSH,
    alu32((o) => `(${o.dl} >>> ${count32(o)}) | 0`),
    shift64('rsh64', (o, k) =>
      k < 32
        ? `${o.dl} = (${o.dl} >>> ${k}) | (${o.dh} << ${32 - k}); ${o.dh} = (${o.dh} >>> ${k}) | 0;`
        : `${o.dl} = (${o.dh} >>> ${k - 32}) | 0; ${o.dh} = 0;`,
    ),
  ],
  [
    BPF_ARSH,
    alu32((o) => `${o.dl} >> ${count32(o)}`),
    shift64('arsh64', (o, k) =>
      k < 32
        ? `${o.dl} = (${o.dl} >>> ${k}) | (${o.dh} << ${32 - k}); ${o.dh} = ${o.dh} >> ${k};`
        : `${o.dl} = ${o.dh} >> ${k - 32}; ${o.dh} = ${o.dh} >> 31;`,
    ),
  ],
];

/** MOV: K forms copy (64: the sign-extended immediate); X forms sign-extend from `off` bits when off != 0 (movsx). */
const MOV32_K = alu32((o) => o.bl);
const MOV32_X = alu32((o) =>
  chooseExpr(
    o.off,
    [
      [8, `(${o.bl} << 24) >> 24`],
      [16, `(${o.bl} << 16) >> 16`],
    ],
    o.bl,
  ),
);
const MOV64_K = (o: AluOperands) => `${o.dl} = ${o.bl}; ${o.dh} = ${o.bh};`;
const MOV64_X = (o: AluOperands) =>
  choose(
    o.off,
    [
      [0, `${o.dl} = ${o.bl}; ${o.dh} = ${o.bh};`],
      [8, `${o.dl} = (${o.bl} << 24) >> 24; ${o.dh} = ${o.dl} >> 31;`],
      [16, `${o.dl} = (${o.bl} << 16) >> 16; ${o.dh} = ${o.dl} >> 31;`],
    ],
    `${o.dl} = ${o.bl}; ${o.dh} = ${o.dl} >> 31;`,
  );

/** NEG (K form only): two's complement of the destination. */
const NEG32 = alu32((o) => `-${o.dl} | 0`);
const NEG64 = (o: AluOperands) => `${o.dh} = (~${o.dh} + (${o.dl} === 0 ? 1 : 0)) | 0; ${o.dl} = -${o.dl} | 0;`;

/** END in the ALU class: to little-endian truncates to imm bits (the host order is little-endian), to big-endian swaps. */
const TO_LE = (o: AluOperands) =>
  choose(
    o.imm,
    [
      [16, `${o.dl} = ${o.dl} & 65535; ${o.dh} = 0;`],
      [32, `${o.dl} = ${o.dl}; ${o.dh} = 0;`],
    ],
    '',
  );

const u = (x: string) => `(${x} >>> 0)`;
/** [operation, 64-bit condition, 32-bit condition]: the jump is taken when the condition holds. */
const CONDITIONS: readonly (readonly [number, (o: CondOperands) => string, (o: CondOperands) => string])[] = [
  [BPF_JEQ, (o) => `${o.al} === ${o.bl} && ${o.ah} === ${o.bh}`, (o) => `${o.al} === ${o.bl}`],
  [BPF_JNE, (o) => `${o.al} !== ${o.bl} || ${o.ah} !== ${o.bh}`, (o) => `${o.al} !== ${o.bl}`],
  [BPF_JSET, (o) => `(${o.al} & ${o.bl}) !== 0 || (${o.ah} & ${o.bh}) !== 0`, (o) => `(${o.al} & ${o.bl}) !== 0`],
  [
    BPF_JGT,
    (o) => `${u(o.ah)} > ${u(o.bh)} || (${o.ah} === ${o.bh} && ${u(o.al)} > ${u(o.bl)})`,
    (o) => `${u(o.al)} > ${u(o.bl)}`,
  ],
  [
    BPF_JGE,
    (o) => `${u(o.ah)} > ${u(o.bh)} || (${o.ah} === ${o.bh} && ${u(o.al)} >= ${u(o.bl)})`,
    (o) => `${u(o.al)} >= ${u(o.bl)}`,
  ],
  [
    BPF_JLT,
    (o) => `${u(o.ah)} < ${u(o.bh)} || (${o.ah} === ${o.bh} && ${u(o.al)} < ${u(o.bl)})`,
    (o) => `${u(o.al)} < ${u(o.bl)}`,
  ],
  [
    BPF_JLE,
    (o) => `${u(o.ah)} < ${u(o.bh)} || (${o.ah} === ${o.bh} && ${u(o.al)} <= ${u(o.bl)})`,
    (o) => `${u(o.al)} <= ${u(o.bl)}`,
  ],
  [
    BPF_JSGT,
    (o) => `${o.ah} > ${o.bh} || (${o.ah} === ${o.bh} && ${u(o.al)} > ${u(o.bl)})`,
    (o) => `${o.al} > ${o.bl}`,
  ],
  [
    BPF_JSGE,
    (o) => `${o.ah} > ${o.bh} || (${o.ah} === ${o.bh} && ${u(o.al)} >= ${u(o.bl)})`,
    (o) => `${o.al} >= ${o.bl}`,
  ],
  [
    BPF_JSLT,
    (o) => `${o.ah} < ${o.bh} || (${o.ah} === ${o.bh} && ${u(o.al)} < ${u(o.bl)})`,
    (o) => `${o.al} < ${o.bl}`,
  ],
  [
    BPF_JSLE,
    (o) => `${o.ah} < ${o.bh} || (${o.ah} === ${o.bh} && ${u(o.al)} <= ${u(o.bl)})`,
    (o) => `${o.al} <= ${o.bl}`,
  ],
];

/**
 * The register write of a 1/2/4/8-byte load whose value is `v` (1 and 2 bytes: unsigned, 4: int32): zero-
 * or sign-extended into (dh:dl). 8-byte loads write both halves themselves.
 */
export function loadInto(dl: string, dh: string, v: string, size: number, signed: boolean): string {
  const ext = !signed || size === 4 ? v : size === 1 ? `(${v} << 24) >> 24` : `(${v} << 16) >> 16`;
  return `${dl} = ${ext}; ${signed ? `${dh} = ${dl} >> 31;` : `${dh} = 0;`}`;
}

function build(): (InsnSemantics | undefined)[] {
  const t: (InsnSemantics | undefined)[] = new Array(256).fill(undefined);
  const put = (s: InsnSemantics) => {
    if (t[s.code] !== undefined) throw new Error(`internal: opcode 0x${s.code.toString(16)} defined twice`);
    t[s.code] = s;
  };
  for (const [op, e32, e64] of ALU_OPS) {
    for (const src of [BPF_K, BPF_X]) {
      put({ kind: 'alu', code: BPF_ALU | op | src, emit: e32 });
      put({ kind: 'alu', code: BPF_ALU64 | op | src, emit: e64 });
    }
  }
  put({ kind: 'alu', code: BPF_ALU | BPF_MOV | BPF_K, emit: MOV32_K });
  put({ kind: 'alu', code: BPF_ALU | BPF_MOV | BPF_X, emit: MOV32_X });
  put({ kind: 'alu', code: BPF_ALU64 | BPF_MOV | BPF_K, emit: MOV64_K });
  put({ kind: 'alu', code: BPF_ALU64 | BPF_MOV | BPF_X, emit: MOV64_X });
  put({ kind: 'alu', code: BPF_ALU | BPF_NEG | BPF_K, emit: NEG32 });
  put({ kind: 'alu', code: BPF_ALU64 | BPF_NEG | BPF_K, emit: NEG64 });
  put({ kind: 'alu', code: BPF_ALU | BPF_END | BPF_TO_LE, emit: TO_LE });
  put({ kind: 'alu', code: BPF_ALU | BPF_END | BPF_TO_BE, emit: swap });
  put({ kind: 'alu', code: BPF_ALU64 | BPF_END | BPF_K, emit: swap }); // bswap: unconditional
  for (const [op, c64, c32] of CONDITIONS) {
    for (const src of [BPF_K, BPF_X]) {
      put({ kind: 'jump', code: BPF_JMP | op | src, width: 64, cond: c64 });
      put({ kind: 'jump', code: BPF_JMP32 | op | src, width: 32, cond: c32 });
    }
  }
  put({ kind: 'ja', code: BPF_JMP | BPF_JA, wide: false });
  put({ kind: 'ja', code: BPF_JMP32 | BPF_JA, wide: true });
  put({ kind: 'call', code: BPF_JMP | BPF_CALL | BPF_K });
  put({ kind: 'callx', code: BPF_JMP | BPF_CALL | BPF_X });
  put({ kind: 'exit', code: BPF_JMP | BPF_EXIT });
  put({ kind: 'lddw', code: OP_LDDW });
  for (const size of [BPF_B, BPF_H, BPF_W, BPF_DW]) {
    const bytes = sizeBytes(size);
    put({ kind: 'load', code: BPF_LDX | BPF_MEM | size, size: bytes, signed: false });
    put({ kind: 'store', code: BPF_ST | BPF_MEM | size, size: bytes, fromImm: true });
    put({ kind: 'store', code: BPF_STX | BPF_MEM | size, size: bytes, fromImm: false });
    if (bytes === 8) continue;
    put({ kind: 'load', code: BPF_LDX | BPF_MEMSX | size, size: bytes, signed: true });
    put({ kind: 'packet', code: BPF_LD | BPF_ABS | size, size: bytes, indirect: false });
    put({ kind: 'packet', code: BPF_LD | BPF_IND | size, size: bytes, indirect: true });
  }
  put({ kind: 'atomic', code: BPF_STX | BPF_ATOMIC | BPF_W, size: 4 });
  put({ kind: 'atomic', code: BPF_STX | BPF_ATOMIC | BPF_DW, size: 8 });
  return t;
}

/** Semantics by opcode byte (undefined: no such instruction; src/isa's opcode table rejects those at load). */
export const SEMANTICS: readonly (InsnSemantics | undefined)[] = build();

/** Every defined instruction, by ascending opcode. */
export const ALL_SEMANTICS: readonly InsnSemantics[] = SEMANTICS.filter((s): s is InsnSemantics => s !== undefined);

/** Is the second operand a register (BPF_X) rather than the immediate? (ALU and JMP classes.) */
export const usesSrcReg = (code: number): boolean => (code & BPF_X) !== 0;

/** Access size of a plain load or store (LDX MEM/MEMSX, ST, STX MEM), else undefined. */
export function memoryAccessSize(code: number): number | undefined {
  const s = SEMANTICS[code];
  return s !== undefined && (s.kind === 'load' || s.kind === 'store') ? s.size : undefined;
}

/** Slots taken by the instruction with this opcode (lddw: 2). */
export const slotsOfCode = (code: number): number => (code === OP_LDDW ? 2 : 1);
