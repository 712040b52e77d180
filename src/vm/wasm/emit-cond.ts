/**
 * Conditional jumps' conditions as WebAssembly: leaves an i32 (taken = non-zero) on the stack. JMP
 * compares the 64-bit registers, JMP32 their low halves; a K operand is the sign-extended immediate.
 */
import {
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JLE,
  BPF_JLT,
  BPF_JMP,
  BPF_JNE,
  BPF_JSET,
  BPF_JSGE,
  BPF_JSGT,
  BPF_JSLE,
  BPF_JSLT,
  BPF_X,
} from '../../isa/index.js';
import { Body, reg } from './body.js';
import * as W from './opcodes.js';

/** [eBPF condition, i64 comparison, i32 comparison]. */
const COMPARE: readonly (readonly [number, number, number])[] = [
  [BPF_JEQ, W.I64_EQ, W.I32_EQ],
  [BPF_JNE, W.I64_NE, W.I32_NE],
  [BPF_JGT, W.I64_GT_U, W.I32_GT_U],
  [BPF_JGE, W.I64_GE_U, W.I32_GE_U],
  [BPF_JLT, W.I64_LT_U, W.I32_LT_U],
  [BPF_JLE, W.I64_LE_U, W.I32_LE_U],
  [BPF_JSGT, W.I64_GT_S, W.I32_GT_S],
  [BPF_JSGE, W.I64_GE_S, W.I32_GE_S],
  [BPF_JSLT, W.I64_LT_S, W.I32_LT_S],
  [BPF_JSLE, W.I64_LE_S, W.I32_LE_S],
];

/** COMPARE by operation >> 4 (a lookup, not a search: in a fresh process this runs unoptimised). */
const COMPARE_BY_OP: (readonly [number, number, number] | undefined)[] = [];
for (const c of COMPARE) COMPARE_BY_OP[c[0] >> 4] = c;

/** Push the condition of the conditional jump `code` (JMP or JMP32 class). */
export function emitCondition(b: Body, code: number, dst: number, src: number, imm: number): void {
  const wide = (code & 0x07) === BPF_JMP;
  const op = code & 0xf0;
  b.get(reg(dst));
  if (!wide) b.op(W.I32_WRAP_I64);
  if (code & BPF_X) {
    b.get(reg(src));
    if (!wide) b.op(W.I32_WRAP_I64);
  } else if (wide) b.i64(imm, imm >> 31);
  else b.i32(imm);
  if (op === BPF_JSET) {
    if (wide) b.op(W.I64_AND, W.I64_EQZ, W.I32_EQZ);
    else b.op(W.I32_AND, W.I32_EQZ, W.I32_EQZ);
    return;
  }
  const cmp = COMPARE_BY_OP[op >> 4];
  if (!cmp) throw new Error(`internal: jump condition 0x${op.toString(16)}`);
  b.op(wide ? cmp[1] : cmp[2]);
}
