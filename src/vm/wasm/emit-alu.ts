/**
 * ALU and ALU64 instructions as WebAssembly: the destination register is an i64 local, 64-bit operations
 * map onto i64 operations one to one, 32-bit ones compute in i32 and zero-extend. What WebAssembly traps
 * on and eBPF defines (division by zero, INT_MIN / -1) is tested for first, with the results
 * insn-semantics.ts gives: x / 0 = 0, x % 0 = x, INT_MIN / -1 = INT_MIN, x % -1 = 0.
 */
import {
  BPF_ADD,
  BPF_ALU64,
  BPF_AND,
  BPF_ARSH,
  BPF_DIV,
  BPF_END,
  BPF_LSH,
  BPF_MOD,
  BPF_MOV,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RSH,
  BPF_SUB,
  BPF_TO_BE,
  BPF_X,
  BPF_XOR,
} from '../../isa/index.js';
import { Body, L_T, L_TI, reg } from './body.js';
import * as W from './opcodes.js';

/** [eBPF operation, i64 opcode, i32 opcode] for the operations WebAssembly has as they are. */
const DIRECT: readonly (readonly [number, number, number])[] = [
  [BPF_ADD, W.I64_ADD, W.I32_ADD],
  [BPF_SUB, W.I64_SUB, W.I32_SUB],
  [BPF_MUL, W.I64_MUL, W.I32_MUL],
  [BPF_OR, W.I64_OR, W.I32_OR],
  [BPF_AND, W.I64_AND, W.I32_AND],
  [BPF_XOR, W.I64_XOR, W.I32_XOR],
  [BPF_LSH, W.I64_SHL, W.I32_SHL],
  [BPF_RSH, W.I64_SHR_U, W.I32_SHR_U],
  [BPF_ARSH, W.I64_SHR_S, W.I32_SHR_S],
];

/** DIRECT by operation >> 4 (a lookup, not a search: in a fresh process this runs unoptimised). */
const DIRECT_BY_OP: (readonly [number, number, number] | undefined)[] = [];
for (const d of DIRECT) DIRECT_BY_OP[d[0] >> 4] = d;

/** One ALU/ALU64 instruction: dst op= src/imm. */
export function emitAlu(b: Body, code: number, dst: number, src: number, off: number, imm: number): void {
  const wide = (code & 0x07) === BPF_ALU64;
  const op = code & 0xf0;
  const x = (code & BPF_X) !== 0;
  const d = reg(dst);
  // the second operand: the source register, or the immediate (sign-extended for 64-bit operations)
  const operand = (): void => {
    if (x) {
      b.get(reg(src));
      if (!wide) b.op(W.I32_WRAP_I64);
    } else if (wide) b.i64(imm, imm >> 31);
    else b.i32(imm);
  };
  const direct = DIRECT_BY_OP[op >> 4];
  if (op === BPF_END) return emitEnd(b, code, d, imm);
  if (op === BPF_MOV) return emitMov(b, wide, x, d, reg(src), off, imm);
  if (wide) {
    if (direct) {
      b.get(d);
      operand();
      b.op(direct[1]).set(d);
    } else if (op === BPF_NEG) b.i64(0, 0).get(d).op(W.I64_SUB).set(d);
    else if (op === BPF_DIV || op === BPF_MOD) divide(b, true, op === BPF_DIV, off === 1, d, operand);
    else throw new Error(`internal: ALU64 operation 0x${op.toString(16)}`);
    return;
  }
  if (direct) {
    b.get(d).op(W.I32_WRAP_I64);
    operand();
    b.op(direct[2]);
  } else if (op === BPF_NEG) b.i32(0).get(d).op(W.I32_WRAP_I64, W.I32_SUB);
  else if (op === BPF_DIV || op === BPF_MOD) {
    divide(b, false, op === BPF_DIV, off === 1, d, operand);
    return;
  } else throw new Error(`internal: ALU operation 0x${op.toString(16)}`);
  b.op(W.I64_EXTEND_I32_U).set(d);
}

/**
 * dst = dst / b or dst % b, with eBPF's rules for b = 0 and b = -1 (signed). The divisor goes through a
 * scratch local so it is computed once.
 */
function divide(b: Body, wide: boolean, div: boolean, signed: boolean, d: number, operand: () => void): void {
  const t = wide ? L_T : L_TI;
  const eqz = wide ? W.I64_EQZ : W.I32_EQZ;
  const dividend = (): void => {
    b.get(d);
    if (!wide) b.op(W.I32_WRAP_I64);
  };
  const zero = (): void => {
    if (wide) b.i64(0, 0);
    else b.i32(0);
  };
  operand();
  b.tee(t).op(eqz);
  if (wide) b.if64();
  else b.if32();
  if (div) zero();
  else dividend();
  b.else();
  if (signed && div) {
    // INT_MIN / -1 traps in WebAssembly; eBPF gives INT_MIN (= 0 - INT_MIN): negate for any -1
    b.get(t);
    if (wide) b.i64(-1, -1).op(W.I64_EQ);
    else b.i32(-1).op(W.I32_EQ);
    if (wide) b.if64();
    else b.if32();
    zero();
    dividend();
    b.op(wide ? W.I64_SUB : W.I32_SUB).else();
    dividend();
    b.get(t)
      .op(wide ? W.I64_DIV_S : W.I32_DIV_S)
      .end();
  } else {
    // x % -1 is 0 in WebAssembly's rem_s too, without trapping
    dividend();
    b.get(t);
    if (wide) b.op(div ? W.I64_DIV_U : signed ? W.I64_REM_S : W.I64_REM_U);
    else b.op(div ? W.I32_DIV_U : signed ? W.I32_REM_S : W.I32_REM_U);
  }
  b.end();
  if (!wide) b.op(W.I64_EXTEND_I32_U);
  b.set(d);
}

/** MOV: K copies the immediate (sign-extended in 64 bits, zero-extended in 32); X with off 8/16/32 is movsx. */
function emitMov(b: Body, wide: boolean, x: boolean, d: number, s: number, off: number, imm: number): void {
  if (!x) {
    if (wide) b.i64(imm, imm >> 31);
    else b.i64(imm, 0);
    b.set(d);
    return;
  }
  b.get(s);
  if (wide) {
    if (off === 8) b.op(W.I64_EXTEND8_S);
    else if (off === 16) b.op(W.I64_EXTEND16_S);
    else if (off !== 0) b.op(W.I64_EXTEND32_S);
  } else {
    b.op(W.I32_WRAP_I64);
    if (off === 8) b.op(W.I32_EXTEND8_S);
    else if (off === 16) b.op(W.I32_EXTEND16_S);
    b.op(W.I64_EXTEND_I32_U);
  }
  b.set(d);
}

/**
 * Byte order: ALU|END|TO_LE truncates to imm bits (the host is little-endian); TO_BE and ALU64|END (bswap)
 * swap the low imm bytes and zero-extend. WebAssembly has no byte swap: shifts and masks (Body.bswap32).
 */
function emitEnd(b: Body, code: number, d: number, imm: number): void {
  const swap = (code & 0x07) === BPF_ALU64 || (code & BPF_TO_BE) !== 0;
  if (!swap) {
    if (imm === 16) b.get(d).i64(0xffff, 0).op(W.I64_AND).set(d);
    else if (imm === 32) b.get(d).i64(-1, 0).op(W.I64_AND).set(d);
    return;
  }
  if (imm === 16) {
    // ((x & 0xff) << 8) | ((x >>> 8) & 0xff)
    b.get(d).op(W.I32_WRAP_I64).tee(L_TI).i32(0xff).op(W.I32_AND).i32(8).op(W.I32_SHL);
    b.get(L_TI).i32(8).op(W.I32_SHR_U).i32(0xff).op(W.I32_AND, W.I32_OR, W.I64_EXTEND_I32_U).set(d);
    return;
  }
  if (imm === 32) {
    b.get(d).op(W.I32_WRAP_I64).bswap32(L_TI).op(W.I64_EXTEND_I32_U).set(d);
    return;
  }
  // swap bytes within 16-bit pairs, then pairs within 32-bit halves, then the halves
  const step = (shift: number, mlo: number, mhi: number): void => {
    b.get(d).i64(mlo, mhi).op(W.I64_AND).i64(shift, 0).op(W.I64_SHL);
    b.get(d).i64(shift, 0).op(W.I64_SHR_U).i64(mlo, mhi).op(W.I64_AND, W.I64_OR).set(d);
  };
  step(8, 0x00ff00ff, 0x00ff00ff);
  step(16, 0x0000ffff, 0x0000ffff);
  // the halves: shifts, not i64.rotl (which Liftoff calls out to C for: Body.bswap32)
  b.get(d).i64(32, 0).op(W.I64_SHL).get(d).i64(32, 0).op(W.I64_SHR_U, W.I64_OR).set(d);
}
