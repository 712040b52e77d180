/**
 * One line of the LLVM/kernel syntax (what llvm-objdump prints and clang's inline asm accepts) -> an
 * instruction: `r0 = *(u16 *)(r1 + 12)`, `*(u32 *)(r10 - 4) = r1`, `if r1 s> 5 goto +3`, `w0 += w1`,
 * `r1 = 0x1234 ll`, `lock *(u64 *)(r1 + 0) += r2`, `r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)`,
 * `call 1`, `call pc+3`, `callx r2`, `gotol +70000`, `r0 = *(u8 *)skb[12]`, `r1 s/= r2`, `r0 = (s8)r1`, ...
 * Whitespace inside an instruction is free (`*(u32*)(r1+4)` works too).
 */
import {
  BPF_ABS,
  BPF_ALU,
  BPF_ALU64,
  BPF_ATOMIC,
  BPF_B,
  BPF_CALL,
  BPF_CMPXCHG,
  BPF_DW,
  BPF_END,
  BPF_EXIT,
  BPF_FETCH,
  BPF_H,
  BPF_IND,
  BPF_JA,
  BPF_JMP,
  BPF_JMP32,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_MEM,
  BPF_MEMSX,
  BPF_MOV,
  BPF_NEG,
  BPF_ST,
  BPF_STX,
  BPF_TO_BE,
  BPF_TO_LE,
  BPF_W,
  BPF_X,
  BPF_XCHG,
  OP_LDDW,
} from '../isa/opcodes.js';
import { makeInsn, splitLddw } from '../isa/instruction.js';
import { AsmLineError, type ParsedInsn, imm32, imm64, isLabel, isNumber, off16, register, target } from './operands.js';

const ALU: Record<string, number> = {
  '+': 0x00,
  '-': 0x10,
  '*': 0x20,
  '/': 0x30,
  's/': 0x30,
  '|': 0x40,
  '&': 0x50,
  '<<': 0x60,
  '>>': 0x70,
  '%': 0x90,
  's%': 0x90,
  '^': 0xa0,
  '': 0xb0,
  's>>': 0xc0,
};
const JMP: Record<string, number> = {
  '==': 0x10,
  '>': 0x20,
  '>=': 0x30,
  '&': 0x40,
  '!=': 0x50,
  's>': 0x60,
  's>=': 0x70,
  '<': 0xa0,
  '<=': 0xb0,
  's<': 0xc0,
  's<=': 0xd0,
};
const SIZE_BITS: Record<string, number> = { '8': BPF_B, '16': BPF_H, '32': BPF_W, '64': BPF_DW };
const ATOMIC_OPS: Record<string, number> = { '+': 0x00, '|': 0x40, '&': 0x50, '^': 0xa0 };
const ATOMIC_FETCH: Record<string, number> = { add: 0x00, or: 0x40, and: 0x50, xor: 0xa0 };

const N = '[-+]?\\s*(?:0x[0-9a-f]+|\\d+)';
const REG = '[rw]\\d+';
// (rN + off) / (rN - off) / (rN): the address of a memory operand.
const ADDR = `(r\\d+)\\s*(?:([-+])\\s*(0x[0-9a-f]+|\\d+))?`;

const re = (s: string) => new RegExp(`^${s}$`, 'i');
const LOAD = re(`(${REG})\\s*=\\s*\\*\\(\\s*([us])(8|16|32|64)\\s*\\*\\s*\\)\\s*\\(\\s*${ADDR}\\s*\\)`);
const SKB = re(`(${REG})\\s*=\\s*\\*\\(\\s*u(8|16|32)\\s*\\*\\s*\\)\\s*skb\\s*\\[\\s*(.*?)\\s*\\]`);
const STORE = re(`\\*\\(\\s*u(8|16|32|64)\\s*\\*\\s*\\)\\s*\\(\\s*${ADDR}\\s*\\)\\s*=\\s*(\\S+)`);
const LOCK = re(`lock\\s+\\*\\(\\s*u(32|64)\\s*\\*\\s*\\)\\s*\\(\\s*${ADDR}\\s*\\)\\s*([-+|&^])=\\s*(${REG})`);
const FETCH = re(
  `(${REG})\\s*=\\s*atomic_fetch_(add|or|and|xor)\\s*\\(\\s*\\(\\s*u(32|64)\\s*\\*\\s*\\)\\s*\\(\\s*${ADDR}\\s*\\)\\s*,\\s*(${REG})\\s*\\)`,
);
const XCHG = re(`(${REG})\\s*=\\s*xchg(32_32|_64)\\s*\\(\\s*${ADDR}\\s*,\\s*(${REG})\\s*\\)`);
const CMPXCHG = re(`(${REG})\\s*=\\s*cmpxchg(32_32|_64)\\s*\\(\\s*${ADDR}\\s*,\\s*(${REG})\\s*,\\s*(${REG})\\s*\\)`);
const ENDIAN = re(`(${REG})\\s*=\\s*(be|le|bswap)(16|32|64)\\s+(${REG})`);
const NEG = re(`(${REG})\\s*=\\s*-\\s*(${REG})`);
const MOVSX = re(`(${REG})\\s*=\\s*\\(\\s*s(8|16|32)\\s*\\)\\s*(${REG})`);
const LDDW = re(`(${REG})\\s*=\\s*(${N})\\s+ll`);
const LD_PSEUDO = re(`ld_pseudo\\s+(${REG})\\s*,\\s*(\\d+)\\s*,\\s*(${N})`);
const ALU_RE = re(`(${REG})\\s*(s/|s%|s>>|<<|>>|[-+*/|&^%]|)=\\s*(\\S+)`);
const COND = re(`if\\s+(${REG})\\s*(==|!=|s>=|s<=|s>|s<|>=|<=|>|<|&)\\s*(\\S+)\\s+goto\\s+(\\S+)`);
const GOTO = re(`(goto|gotol)\\s+(\\S+)`);
const CALL = re(`call\\s+(.+)`);
const CALLX = re(`callx\\s+(${REG})`);

function addrOff(sign: string | undefined, num: string | undefined): number {
  return sign ? off16(`${sign}${num}`, 'memory offset') : 0;
}

/** r/w register; `wantW` = the instruction's width decides which letter is right. */
function reg(text: string, wantW?: boolean, what = 'register'): number {
  const r = register(text, 'llvm');
  if (wantW !== undefined && r.w !== wantW) {
    throw new AsmLineError(`${what} '${text}' should be ${wantW ? 'w' : 'r'}${r.reg} here (operand widths must match)`);
  }
  return r.reg;
}
const isW = (text: string) => register(text, 'llvm').w;
const num = (t: string) => t.replace(/\s+/g, '');

export function looksLikeLlvm(text: string): boolean {
  return /^(if\s|goto\s|gotol\s|callx\s|ld_pseudo\s|lock\s+\*|\*\s*\(|[rw]\d+\s*(s\/|s%|s>>|<<|>>|[-+*/|&^%])?=)/i.test(
    text.trim(),
  );
}

export function parseLlvmLine(line: string): ParsedInsn {
  const t = line.trim();
  let m: RegExpExecArray | null;
  if (t === 'exit') return { insn: makeInsn({ code: BPF_JMP | BPF_EXIT }) };
  if ((m = LOAD.exec(t))) {
    const bits = m[3]!;
    const signed = m[2]!.toLowerCase() === 's';
    if (signed && bits === '64') throw new AsmLineError(`there is no sign-extending 64-bit load; use *(u64 *)`);
    if (isW(m[1]!) && (signed || bits === '64'))
      throw new AsmLineError(`'${m[1]}' cannot hold a ${signed ? 'sign-extended' : '64-bit'} load; use r${reg(m[1]!)}`);
    return {
      insn: makeInsn({
        code: BPF_LDX | (signed ? BPF_MEMSX : BPF_MEM) | SIZE_BITS[bits]!,
        dst: reg(m[1]!),
        src: reg(m[4]!, false),
        off: addrOff(m[5], m[6]),
      }),
    };
  }
  if ((m = SKB.exec(t))) {
    if (reg(m[1]!) !== 0) throw new AsmLineError(`packet loads (skb[...]) always load into r0, not '${m[1]}'`);
    const size = SIZE_BITS[m[2]!]!;
    const inner = m[3]!;
    const ind = /^(r\d+)\s*(?:([-+])\s*(0x[0-9a-f]+|\d+))?$/i.exec(inner);
    if (ind) {
      const imm = ind[2] ? imm32(`${ind[2]}${ind[3]}`) : 0;
      return { insn: makeInsn({ code: BPF_LD | BPF_IND | size, src: reg(ind[1]!, false), imm }) };
    }
    return { insn: makeInsn({ code: BPF_LD | BPF_ABS | size, imm: imm32(inner, 'packet offset') }) };
  }
  if ((m = STORE.exec(t))) {
    const size = SIZE_BITS[m[1]!]!;
    const dst = reg(m[2]!, false);
    const off = addrOff(m[3], m[4]);
    const value = m[5]!;
    if (/^[rw]\d+$/i.test(value)) {
      if (isW(value) && m[1] === '64') throw new AsmLineError(`a 64-bit store needs an r register, not '${value}'`);
      return { insn: makeInsn({ code: BPF_STX | BPF_MEM | size, dst, src: reg(value), off }) };
    }
    return { insn: makeInsn({ code: BPF_ST | BPF_MEM | size, dst, off, imm: imm32(value) }) };
  }
  if ((m = LOCK.exec(t))) {
    const is64 = m[1] === '64';
    if (is64 && isW(m[6]!)) throw new AsmLineError(`a 64-bit atomic needs an r register, not '${m[6]}'`);
    return {
      insn: makeInsn({
        code: BPF_STX | BPF_ATOMIC | (is64 ? BPF_DW : BPF_W),
        dst: reg(m[2]!, false),
        off: addrOff(m[3], m[4]),
        src: reg(m[6]!),
        imm: ATOMIC_OPS[m[5]!]!,
      }),
    };
  }
  if ((m = FETCH.exec(t))) {
    const is64 = m[3] === '64';
    const src = reg(m[7]!, is64 ? false : undefined);
    if (reg(m[1]!, is64 ? false : undefined) !== src)
      throw new AsmLineError(`atomic_fetch_${m[2]} must write back to its value register ('${m[7]}'), not '${m[1]}'`);
    return {
      insn: makeInsn({
        code: BPF_STX | BPF_ATOMIC | (is64 ? BPF_DW : BPF_W),
        dst: reg(m[4]!, false),
        off: addrOff(m[5], m[6]),
        src,
        imm: ATOMIC_FETCH[m[2]!.toLowerCase()]! | BPF_FETCH,
      }),
    };
  }
  if ((m = XCHG.exec(t))) {
    const is64 = m[2] === '_64';
    const src = reg(m[6]!, is64 ? false : undefined);
    if (reg(m[1]!, is64 ? false : undefined) !== src)
      throw new AsmLineError(`xchg must write back to its value register ('${m[6]}'), not '${m[1]}'`);
    return {
      insn: makeInsn({
        code: BPF_STX | BPF_ATOMIC | (is64 ? BPF_DW : BPF_W),
        dst: reg(m[3]!, false),
        off: addrOff(m[4], m[5]),
        src,
        imm: BPF_XCHG,
      }),
    };
  }
  if ((m = CMPXCHG.exec(t))) {
    const is64 = m[2] === '_64';
    if (reg(m[1]!) !== 0 || reg(m[6]!) !== 0)
      throw new AsmLineError(
        `cmpxchg compares with and returns into r0: write ${is64 ? 'r0' : 'w0'} = cmpxchg...(addr, ${is64 ? 'r0' : 'w0'}, src)`,
      );
    return {
      insn: makeInsn({
        code: BPF_STX | BPF_ATOMIC | (is64 ? BPF_DW : BPF_W),
        dst: reg(m[3]!, false),
        off: addrOff(m[4], m[5]),
        src: reg(m[7]!, is64 ? false : undefined),
        imm: BPF_CMPXCHG,
      }),
    };
  }
  if ((m = ENDIAN.exec(t))) {
    const dst = reg(m[1]!);
    if (reg(m[4]!) !== dst) throw new AsmLineError(`byte swaps work in place: write ${m[1]} = ${m[2]}${m[3]} ${m[1]}`);
    const kind = m[2]!.toLowerCase();
    const code =
      kind === 'le'
        ? BPF_ALU | BPF_END | BPF_TO_LE
        : kind === 'be'
          ? BPF_ALU | BPF_END | BPF_TO_BE
          : BPF_ALU64 | BPF_END;
    return { insn: makeInsn({ code, dst, imm: Number(m[3]) }) };
  }
  if ((m = NEG.exec(t))) {
    const w = isW(m[1]!);
    const dst = reg(m[1]!);
    if (reg(m[2]!, w) !== dst) throw new AsmLineError(`negation works in place: write ${m[1]} = -${m[1]}`);
    return { insn: makeInsn({ code: (w ? BPF_ALU : BPF_ALU64) | BPF_NEG | BPF_K, dst }) };
  }
  if ((m = MOVSX.exec(t))) {
    const w = isW(m[1]!);
    if (w && m[2] === '32') throw new AsmLineError(`32-bit sign extension takes (s8) or (s16), not (s32)`);
    return {
      insn: makeInsn({
        code: (w ? BPF_ALU : BPF_ALU64) | BPF_MOV | BPF_X,
        dst: reg(m[1]!),
        src: reg(m[3]!, w),
        off: Number(m[2]),
      }),
    };
  }
  if ((m = LDDW.exec(t))) {
    const { imm, imm2 } = splitLddw(imm64(num(m[2]!)));
    return { insn: makeInsn({ code: OP_LDDW, dst: reg(m[1]!, false), imm, imm2 }) };
  }
  if ((m = LD_PSEUDO.exec(t))) {
    const src = Number(m[2]);
    if (src < 1 || src > 6) throw new AsmLineError(`ld_pseudo kind must be 1-6, got ${m[2]}`);
    const { imm, imm2 } = splitLddw(imm64(num(m[3]!)));
    return { insn: makeInsn({ code: OP_LDDW, dst: reg(m[1]!, false), src, imm, imm2 }) };
  }
  if ((m = COND.exec(t))) {
    const w = isW(m[1]!);
    const cls = w ? BPF_JMP32 : BPF_JMP;
    const op = JMP[m[2]!]!;
    const jump = { target: target(m[4]!, 16), field: 'off' as const };
    const dst = reg(m[1]!);
    if (/^[rw]\d+$/i.test(m[3]!))
      return { insn: makeInsn({ code: cls | op | BPF_X, dst, src: reg(m[3]!, w, 'compared register') }), jump };
    return { insn: makeInsn({ code: cls | op | BPF_K, dst, imm: imm32(m[3]!) }), jump };
  }
  if ((m = GOTO.exec(t))) {
    if (m[1]!.toLowerCase() === 'goto')
      return { insn: makeInsn({ code: BPF_JMP | BPF_JA }), jump: { target: target(m[2]!, 16), field: 'off' } };
    return { insn: makeInsn({ code: BPF_JMP32 | BPF_JA }), jump: { target: target(m[2]!, 32), field: 'imm' } };
  }
  if ((m = CALLX.exec(t))) return { insn: makeInsn({ code: BPF_JMP | BPF_CALL | BPF_X, dst: reg(m[1]!, false) }) };
  if ((m = CALL.exec(t))) {
    const arg = m[1]!.trim();
    let c: RegExpExecArray | null;
    if ((c = /^pc\s*([-+]\s*(?:0x[0-9a-f]+|\d+))$/i.exec(arg))) {
      return {
        insn: makeInsn({ code: BPF_JMP | BPF_CALL, src: 1 }),
        jump: { target: target(num(c[1]!), 32), field: 'imm' },
      };
    }
    if ((c = /^kfunc\s+(\S+)$/i.exec(arg)))
      return { insn: makeInsn({ code: BPF_JMP | BPF_CALL, src: 2, imm: imm32(c[1]!, 'kfunc BTF id') }) };
    if (isNumber(arg)) return { insn: makeInsn({ code: BPF_JMP | BPF_CALL, imm: imm32(arg, 'helper number') }) };
    if (isLabel(arg))
      return { insn: makeInsn({ code: BPF_JMP | BPF_CALL, src: 1 }), jump: { target: { label: arg }, field: 'imm' } };
    throw new AsmLineError(`bad call target '${arg}' (N, pc+N, kfunc N or a label)`);
  }
  if ((m = ALU_RE.exec(t))) {
    const w = isW(m[1]!);
    const cls = w ? BPF_ALU : BPF_ALU64;
    const opText = m[2]!;
    const op = ALU[opText]!;
    const off = opText === 's/' || opText === 's%' ? 1 : 0;
    const dst = reg(m[1]!);
    const operand = m[3]!;
    if (/^[rw]\d+$/i.test(operand))
      return { insn: makeInsn({ code: cls | op | BPF_X, dst, src: reg(operand, w, 'source register'), off }) };
    if (!isNumber(operand))
      throw new AsmLineError(`expected a register or an immediate after '${opText}=', got '${operand}'`);
    return { insn: makeInsn({ code: cls | op | BPF_K, dst, imm: imm32(operand), off }) };
  }
  const word = /^\S+/.exec(t)?.[0] ?? t;
  throw new AsmLineError(`cannot parse '${t}' as an LLVM-syntax instruction (at '${word}')`);
}
