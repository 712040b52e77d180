/**
 * One line of the conformance suite's syntax -> an instruction. Mnemonics as in the suite's .data files:
 * `mov32 %r1, -13`, `ldxw %r0, [%r1+4]`, `stxdw [%r10-8], %r1`, `lddw %r0, 0x1122334455667788`,
 * `lock [fetch] add[32] [%r1+0], %r2`, `lock xchg`, `lock cmpxchg`, `be16 %r0`, `le32`, `bswap64`/`swap64`,
 * `jne %r0, 15, label`, `ja +3`, `ja32 L`, `call 5`, `call local f`, `call %r2` (callx), `movsx832`, `sdiv`, ...
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
import { LDDW_PSEUDO_NAMES } from './format-conformance.js';
import {
  AsmLineError,
  type ParsedInsn,
  imm32,
  imm64,
  isLabel,
  isNumber,
  isRegister,
  off16,
  register,
  target,
} from './operands.js';

const ALU: Record<string, number> = {
  add: 0x00,
  sub: 0x10,
  mul: 0x20,
  div: 0x30,
  sdiv: 0x30,
  or: 0x40,
  and: 0x50,
  lsh: 0x60,
  rsh: 0x70,
  mod: 0x90,
  smod: 0x90,
  xor: 0xa0,
  mov: 0xb0,
  arsh: 0xc0,
};
const JMP: Record<string, number> = {
  jeq: 0x10,
  jgt: 0x20,
  jge: 0x30,
  jset: 0x40,
  jne: 0x50,
  jsgt: 0x60,
  jsge: 0x70,
  jlt: 0xa0,
  jle: 0xb0,
  jslt: 0xc0,
  jsle: 0xd0,
};
const SIZES: Record<string, number> = { b: BPF_B, h: BPF_H, w: BPF_W, dw: BPF_DW };
const ATOMIC: Record<string, number> = { add: 0x00, or: 0x40, and: 0x50, xor: 0xa0 };

const reg = (t: string) => register(t, 'conformance').reg;

function arity(mnemonic: string, ops: string[], n: number): void {
  if (ops.length !== n)
    throw new AsmLineError(`'${mnemonic}' takes ${n} operand${n === 1 ? '' : 's'}, got ${ops.length}`);
}

/** `[%r1+4]`, `[%r10-8]`, `[%r1]` -> register and offset. */
export function memOperand(text: string): { reg: number; off: number } {
  const m = /^\[\s*(%?[rw]\d+)\s*(?:([-+])\s*((?:0x)?[0-9a-f]+))?\s*\]$/i.exec(text.trim());
  if (!m) throw new AsmLineError(`expected a memory operand like [%r1+4], got '${text.trim()}'`);
  return { reg: reg(m[1]!), off: m[2] ? off16(`${m[2]}${m[3]}`, 'memory offset') : 0 };
}

/** Split operands at commas (none of this syntax's operands contain one). */
function splitOperands(rest: string): string[] {
  const t = rest.trim();
  return t === '' ? [] : t.split(',').map((s) => s.trim());
}

export function parseConformanceLine(text: string): ParsedInsn {
  const m = /^(\S+)\s*(.*)$/.exec(text.trim())!;
  const mnemonic = m[1]!.toLowerCase();
  let ops = splitOperands(m[2]!);

  if (mnemonic === 'lock') {
    // lock [fetch] op[32] [mem], %src
    const words = m[2]!.trim().split(/\s+/);
    let fetch = false;
    if (words[0] === 'fetch') {
      fetch = true;
      words.shift();
    }
    const opName = (words.shift() ?? '').toLowerCase();
    ops = splitOperands(words.join(' '));
    arity(`lock ${opName}`, ops, 2);
    const is32 = opName.endsWith('32');
    const base = is32 ? opName.slice(0, -2) : opName;
    let imm: number;
    if (base === 'xchg' || base === 'cmpxchg') {
      imm = base === 'xchg' ? BPF_XCHG : BPF_CMPXCHG;
    } else if (base in ATOMIC) {
      imm = ATOMIC[base]! | (fetch ? BPF_FETCH : 0);
    } else {
      throw new AsmLineError(`unknown atomic operation 'lock ${fetch ? 'fetch ' : ''}${opName}'`);
    }
    const { reg: dst, off } = memOperand(ops[0]!);
    return {
      insn: makeInsn({ code: BPF_STX | BPF_ATOMIC | (is32 ? BPF_W : BPF_DW), dst, src: reg(ops[1]!), off, imm }),
    };
  }

  if (mnemonic === 'exit') {
    arity(mnemonic, ops, 0);
    return { insn: makeInsn({ code: BPF_JMP | BPF_EXIT }) };
  }
  if (mnemonic === 'ja' || mnemonic === 'ja32') {
    arity(mnemonic, ops, 1);
    if (mnemonic === 'ja')
      return { insn: makeInsn({ code: BPF_JMP | BPF_JA }), jump: { target: target(ops[0]!, 16), field: 'off' } };
    return { insn: makeInsn({ code: BPF_JMP32 | BPF_JA }), jump: { target: target(ops[0]!, 32), field: 'imm' } };
  }
  if (mnemonic === 'call') {
    // call N | call helper N | call local TARGET | call runtime N | call %rN (callx) | call LABEL
    const words = m[2]!.trim().split(/\s+/).filter(Boolean);
    if (words.length === 2 && (words[0] === 'local' || words[0] === 'helper' || words[0] === 'runtime')) {
      if (words[0] === 'local') {
        return {
          insn: makeInsn({ code: BPF_JMP | BPF_CALL, src: 1 }),
          jump: { target: target(words[1]!, 32), field: 'imm' },
        };
      }
      return {
        insn: makeInsn({
          code: BPF_JMP | BPF_CALL,
          src: words[0] === 'helper' ? 0 : 2,
          imm: imm32(words[1]!, 'call number'),
        }),
      };
    }
    if (words.length !== 1)
      throw new AsmLineError(`'call' takes one operand (N, %rN, local TARGET, runtime N), got '${m[2]!.trim()}'`);
    const w = words[0]!;
    if (isRegister(w)) return { insn: makeInsn({ code: BPF_JMP | BPF_CALL | BPF_X, dst: reg(w) }) };
    if (isNumber(w)) return { insn: makeInsn({ code: BPF_JMP | BPF_CALL, imm: imm32(w, 'helper number') }) };
    if (isLabel(w))
      return { insn: makeInsn({ code: BPF_JMP | BPF_CALL, src: 1 }), jump: { target: { label: w }, field: 'imm' } };
    throw new AsmLineError(`bad call target '${w}'`);
  }
  if (mnemonic === 'lddw') {
    if (ops.length !== 2 && ops.length !== 3)
      throw new AsmLineError(`'lddw' takes 2 operands (and an optional pseudo kind), got ${ops.length}`);
    let src = 0;
    if (ops.length === 3) {
      const kind = ops[2]!.toLowerCase();
      src = LDDW_PSEUDO_NAMES.indexOf(kind);
      if (src <= 0) {
        if (!/^[0-6]$/.test(kind))
          throw new AsmLineError(`unknown lddw pseudo kind '${ops[2]}' (${LDDW_PSEUDO_NAMES.slice(1).join(', ')})`);
        src = Number(kind);
      }
    }
    const { imm, imm2 } = splitLddw(imm64(ops[1]!));
    return { insn: makeInsn({ code: OP_LDDW, dst: reg(ops[0]!), src, imm, imm2 }) };
  }

  let mm: RegExpExecArray | null;
  if ((mm = /^ld(abs|ind)(b|h|w)$/.exec(mnemonic))) {
    const size = SIZES[mm[2]!]!;
    if (mm[1] === 'abs') {
      arity(mnemonic, ops, 1);
      return { insn: makeInsn({ code: BPF_LD | BPF_ABS | size, imm: imm32(ops[0]!) }) };
    }
    arity(mnemonic, ops, 2);
    return { insn: makeInsn({ code: BPF_LD | BPF_IND | size, src: reg(ops[0]!), imm: imm32(ops[1]!) }) };
  }
  if ((mm = /^ldx(s?)(b|h|w|dw)$/.exec(mnemonic))) {
    if (mm[1] && mm[2] === 'dw')
      throw new AsmLineError(`unknown mnemonic '${mnemonic}' (sign-extending loads are ldxsb, ldxsh, ldxsw)`);
    arity(mnemonic, ops, 2);
    const { reg: src, off } = memOperand(ops[1]!);
    return {
      insn: makeInsn({ code: BPF_LDX | (mm[1] ? BPF_MEMSX : BPF_MEM) | SIZES[mm[2]!]!, dst: reg(ops[0]!), src, off }),
    };
  }
  if ((mm = /^st(x?)(b|h|w|dw)$/.exec(mnemonic))) {
    arity(mnemonic, ops, 2);
    const { reg: dst, off } = memOperand(ops[0]!);
    if (mm[1]) return { insn: makeInsn({ code: BPF_STX | BPF_MEM | SIZES[mm[2]!]!, dst, src: reg(ops[1]!), off }) };
    return { insn: makeInsn({ code: BPF_ST | BPF_MEM | SIZES[mm[2]!]!, dst, off, imm: imm32(ops[1]!) }) };
  }
  if ((mm = /^(le|be|bswap|swap)(16|32|64)$/.exec(mnemonic))) {
    arity(mnemonic, ops, 1);
    const code =
      mm[1] === 'le'
        ? BPF_ALU | BPF_END | BPF_TO_LE
        : mm[1] === 'be'
          ? BPF_ALU | BPF_END | BPF_TO_BE
          : BPF_ALU64 | BPF_END;
    return { insn: makeInsn({ code, dst: reg(ops[0]!), imm: Number(mm[2]) }) };
  }
  if ((mm = /^neg(32|64)?$/.exec(mnemonic))) {
    arity(mnemonic, ops, 1);
    return { insn: makeInsn({ code: (mm[1] === '32' ? BPF_ALU : BPF_ALU64) | BPF_NEG | BPF_K, dst: reg(ops[0]!) }) };
  }
  if ((mm = /^movsx(8|16|32)(32|64)$/.exec(mnemonic))) {
    arity(mnemonic, ops, 2);
    const cls = mm[2] === '32' ? BPF_ALU : BPF_ALU64;
    if (!isRegister(ops[1]!)) throw new AsmLineError(`'${mnemonic}' needs a source register, got '${ops[1]}'`);
    if (mm[1] === '32' && mm[2] === '32')
      throw new AsmLineError(`unknown mnemonic '${mnemonic}' (32-bit movsx takes 8 or 16)`);
    return {
      insn: makeInsn({ code: cls | BPF_MOV | BPF_X, dst: reg(ops[0]!), src: reg(ops[1]!), off: Number(mm[1]) }),
    };
  }
  if ((mm = /^([a-z]+?)(32|64)?$/.exec(mnemonic)) && mm[1]! in ALU) {
    arity(mnemonic, ops, 2);
    const cls = mm[2] === '32' ? BPF_ALU : BPF_ALU64;
    const signed = mm[1] === 'sdiv' || mm[1] === 'smod';
    const dst = reg(ops[0]!);
    if (isRegister(ops[1]!))
      return { insn: makeInsn({ code: cls | ALU[mm[1]!]! | BPF_X, dst, src: reg(ops[1]!), off: signed ? 1 : 0 }) };
    return { insn: makeInsn({ code: cls | ALU[mm[1]!]! | BPF_K, dst, imm: imm32(ops[1]!), off: signed ? 1 : 0 }) };
  }
  if ((mm = /^([a-z]+?)(32)?$/.exec(mnemonic)) && mm[1]! in JMP) {
    arity(mnemonic, ops, 3);
    const cls = mm[2] === '32' ? BPF_JMP32 : BPF_JMP;
    const dst = reg(ops[0]!);
    const jump = { target: target(ops[2]!, 16), field: 'off' as const };
    if (isRegister(ops[1]!))
      return { insn: makeInsn({ code: cls | JMP[mm[1]!]! | BPF_X, dst, src: reg(ops[1]!) }), jump };
    return { insn: makeInsn({ code: cls | JMP[mm[1]!]! | BPF_K, dst, imm: imm32(ops[1]!) }), jump };
  }
  throw new AsmLineError(`unknown mnemonic '${mnemonic}'`);
}
