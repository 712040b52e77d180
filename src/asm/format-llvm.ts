/**
 * One instruction as text in the LLVM/kernel syntax, the way `llvm-objdump -d` (LLVM 14) prints it, with
 * the newer LLVM forms for what LLVM 14 cannot decode (cpu v4: sdiv/smod, movsx, sign-extending loads,
 * bswap, gotol; `mod`, `st` imm stores and 32-bit fetch atomics print as LLVM >= 18 / +alu32 print them).
 *
 * Deliberate differences from llvm-objdump, each because llvm's text is ambiguous and would not assemble
 * back to the same bytes (see docs/assembly.md):
 * - program-local calls (src 1) print as `call pc+N` (the kernel's notation), not `call N`;
 * - kfunc calls (src 2) print as `call kfunc N`;
 * - `ld_pseudo` prints the whole 64-bit immediate (LLVM drops the second slot);
 * - LD_IND prints its immediate when non-zero (`skb[r2 + 4]`; LLVM 14 drops it);
 * - callx takes its register from `dst` (LLVM reads `imm`), see src/isa/opcode-table.ts.
 * Invalid instructions print as `.insn op=0x.. dst=.. src=.. off=.. imm=..`, which assembles back.
 */
import {
  BPF_ALU,
  BPF_CMPXCHG,
  BPF_DIV,
  BPF_FETCH,
  BPF_MOD,
  BPF_MOV,
  BPF_XCHG,
  BPF_X,
  classOf,
  opOf,
} from '../isa/opcodes.js';
import { type Instruction, lddwValue } from '../isa/instruction.js';
import { checkInstruction, describeOpcode } from '../isa/opcode-table.js';
import { formatRawInsn } from './raw-insn.js';

/** Options of `formatLlvm`. */
export interface LlvmFormatOptions {
  /** Print sub-64-bit loads/stores with `w` registers, like `llvm-objdump --mattr=+alu32`. */
  alu32?: boolean;
}

/** ALU operators by operation bits (BPF_OP), as LLVM's syntax (and the kernel's disassembler) write them. */
export const LLVM_ALU_OPS: Record<number, string> = {
  0x00: '+=',
  0x10: '-=',
  0x20: '*=',
  0x30: '/=',
  0x40: '|=',
  0x50: '&=',
  0x60: '<<=',
  0x70: '>>=',
  0x90: '%=',
  0xa0: '^=',
  0xb0: '=',
  0xc0: 's>>=',
};
/** Conditional jump operators by operation bits (BPF_OP), as LLVM's syntax (and the kernel's) write them. */
export const LLVM_JMP_OPS: Record<number, string> = {
  0x10: '==',
  0x20: '>',
  0x30: '>=',
  0x40: '&',
  0x50: '!=',
  0x60: 's>',
  0x70: 's>=',
  0xa0: '<',
  0xb0: '<=',
  0xc0: 's<',
  0xd0: 's<=',
};
const ATOMIC_OPS: Record<number, string> = { 0x00: '+=', 0x40: '|=', 0x50: '&=', 0xa0: '^=' };
const ATOMIC_FETCH: Record<number, string> = { 0x00: 'add', 0x40: 'or', 0x50: 'and', 0xa0: 'xor' };

const rel = (n: number) => (n < 0 ? `${n}` : `+${n}`);
const memOff = (n: number) => (n < 0 ? `- ${-n}` : `+ ${n}`);

/** One instruction in LLVM's syntax (`r0 = 1`), as llvm-objdump prints it. */
export function formatLlvm(insn: Instruction, opts: LlvmFormatOptions = {}): string {
  const info = describeOpcode(insn.code);
  if (!info || checkInstruction(insn)) return formatRawInsn(insn);
  const { dst, src, off, imm } = insn;
  const w32 = info.width === 32;
  const d = `${w32 ? 'w' : 'r'}${dst}`;
  const s = `${w32 ? 'w' : 'r'}${src}`;
  const op = opOf(insn.code);
  const size = (bytes: number) => bytes * 8;
  switch (info.kind) {
    case 'alu': {
      const operand = info.reg ? s : `${imm}`;
      if (op === BPF_MOV && off !== 0) return `${d} = (s${off})${s}`;
      if ((op === BPF_DIV || op === BPF_MOD) && off === 1) return `${d} s${LLVM_ALU_OPS[op]} ${operand}`;
      return `${d} ${LLVM_ALU_OPS[op]} ${operand}`;
    }
    case 'neg':
      return `${d} = -${d}`;
    case 'end': {
      const name = classOf(insn.code) === BPF_ALU ? ((insn.code & BPF_X) !== 0 ? 'be' : 'le') : 'bswap';
      return `r${dst} = ${name}${imm} r${dst}`;
    }
    case 'jump':
      return `if ${d} ${LLVM_JMP_OPS[op]} ${info.reg ? s : imm} goto ${rel(off)}`;
    case 'ja':
      return `goto ${rel(off)}`;
    case 'ja32':
      return `gotol ${rel(imm)}`;
    case 'call':
      if (src === 1) return `call pc${rel(imm)}`;
      if (src === 2) return `call kfunc ${imm}`;
      return `call ${imm}`;
    case 'callx':
      return `callx r${dst}`;
    case 'exit':
      return 'exit';
    case 'lddw':
      if (src === 0) return `r${dst} = ${BigInt.asIntN(64, lddwValue(insn))} ll`;
      return `ld_pseudo r${dst}, ${src}, ${lddwValue(insn)}`;
    case 'ld-abs':
      return `r0 = *(u${size(info.width)} *)skb[${imm}]`;
    case 'ld-ind':
      return `r0 = *(u${size(info.width)} *)skb[r${src}${imm === 0 ? '' : ` ${memOff(imm)}`}]`;
    case 'ldx':
      return `${opts.alu32 && info.width < 8 ? 'w' : 'r'}${dst} = *(u${size(info.width)} *)(r${src} ${memOff(off)})`;
    case 'ldxsx':
      return `r${dst} = *(s${size(info.width)} *)(r${src} ${memOff(off)})`;
    case 'st':
      return `*(u${size(info.width)} *)(r${dst} ${memOff(off)}) = ${imm}`;
    case 'stx':
      return `*(u${size(info.width)} *)(r${dst} ${memOff(off)}) = ${opts.alu32 && info.width < 8 ? 'w' : 'r'}${src}`;
    case 'atomic': {
      const bits = size(info.width);
      const v = `${bits === 32 ? 'w' : 'r'}`;
      const addr = `r${dst} ${memOff(off)}`;
      if (imm === BPF_XCHG)
        return bits === 32 ? `${v}${src} = xchg32_32(${addr}, ${v}${src})` : `r${src} = xchg_64(${addr}, r${src})`;
      if (imm === BPF_CMPXCHG) {
        return bits === 32 ? `w0 = cmpxchg32_32(${addr}, w0, w${src})` : `r0 = cmpxchg_64(${addr}, r0, r${src})`;
      }
      const base = imm & ~BPF_FETCH;
      if (imm & BPF_FETCH) return `${v}${src} = atomic_fetch_${ATOMIC_FETCH[base]}((u${bits} *)(${addr}), ${v}${src})`;
      return `lock *(u${bits} *)(${addr}) ${ATOMIC_OPS[base]} ${v}${src}`;
    }
  }
}
