/**
 * A program as bpf_asm text that assembleBpfAsm reads back to the same instructions: jump targets become
 * labels `lN:` (N the instruction index), ancillary loads their extension keyword. An opcode bpf_asm
 * has no syntax for is refused (InputError with its index), since its text could not round-trip.
 */
import { InputError } from '../util/errors.js';
import {
  BPF_A,
  BPF_ABS,
  BPF_ALU,
  BPF_B,
  BPF_H,
  BPF_IMM,
  BPF_IND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_MEM,
  BPF_MISC,
  BPF_MSH,
  BPF_NEG,
  BPF_RET,
  BPF_ST,
  BPF_STX,
  BPF_TAX,
  BPF_TXA,
  BPF_W,
  BPF_X,
  type SockFilter,
} from './insn.js';
import { SKF_AD, SKF_AD_OFF } from './ancillary.js';
import { BPF_ASM_EXTENSIONS } from './bpf-asm.js';

const ALU_NAMES = ['add', 'sub', 'mul', 'div', 'or', 'and', 'lsh', 'rsh', 'neg', 'mod', 'xor'];
const JMP_NAMES: Record<number, string> = { [BPF_JEQ]: 'jeq', [BPF_JGT]: 'jgt', [BPF_JGE]: 'jge', [BPF_JSET]: 'jset' };
const LOAD_NAMES: Record<number, string> = { [BPF_W]: 'ld', [BPF_H]: 'ldh', [BPF_B]: 'ldb' };
/** Extension keyword per ancillary offset (the first spelling listed). */
const EXT_BY_OFFSET = new Map<number, string>();
for (const [word, anc] of Object.entries(BPF_ASM_EXTENSIONS))
  if (!EXT_BY_OFFSET.has(SKF_AD[anc])) EXT_BY_OFFSET.set(SKF_AD[anc], word);

const hex = (k: number) => `0x${(k >>> 0).toString(16)}`;

/** bpf_asm text for a program, one instruction per line. */
export function formatBpfAsm(insns: readonly SockFilter[]): string {
  const targets = new Set<number>();
  insns.forEach((i, pc) => {
    if ((i.code & 0x07) !== BPF_JMP) return;
    if ((i.code & 0xf0) === BPF_JA) targets.add(pc + 1 + (i.k >>> 0));
    else {
      if (i.jt) targets.add(pc + 1 + i.jt);
      if (i.jf) targets.add(pc + 1 + i.jf);
    }
  });
  return insns
    .map((i, pc) => {
      const text = operation(i, pc);
      return targets.has(pc) ? `l${pc}:\t${text}\n` : `\t${text}\n`;
    })
    .join('');
}

function operation(i: SockFilter, pc: number): string {
  const { code, jt, jf } = i;
  const k = i.k >>> 0;
  const bad = () => {
    throw new InputError(`instruction ${pc}: opcode 0x${code.toString(16)} has no bpf_asm syntax`);
  };
  if (code > 0xff) return bad();
  switch (code & 0x07) {
    case BPF_LD: {
      const mode = code & 0xe0;
      const name = LOAD_NAMES[code & 0x18] ?? bad();
      if (mode === BPF_ABS) {
        const off = k - (SKF_AD_OFF >>> 0);
        const ext = off >= 0 ? EXT_BY_OFFSET.get(off) : undefined;
        return ext ? `${name} #${ext}` : `${name} [${k | 0}]`;
      }
      if (mode === BPF_IND) return `${name} [x + ${k | 0}]`;
      if (code === (BPF_LD | BPF_IMM)) return `ld #${hex(k)}`;
      if (code === (BPF_LD | BPF_MEM)) return `ld M[${k}]`;
      if (code === (BPF_LD | BPF_W | BPF_LEN)) return 'ld #len';
      return bad();
    }
    case BPF_LDX:
      if (code === (BPF_LDX | BPF_IMM)) return `ldx #${hex(k)}`;
      if (code === (BPF_LDX | BPF_MEM)) return `ldx M[${k}]`;
      if (code === (BPF_LDX | BPF_W | BPF_LEN)) return 'ldx #len';
      if (code === (BPF_LDX | BPF_MSH | BPF_B)) return `ldxb 4*([${k | 0}]&0xf)`;
      return bad();
    case BPF_ST:
      return code === BPF_ST ? `st M[${k}]` : bad();
    case BPF_STX:
      return code === BPF_STX ? `stx M[${k}]` : bad();
    case BPF_ALU: {
      if (code === (BPF_ALU | BPF_NEG)) return 'neg';
      const name = ALU_NAMES[(code & 0xf0) >> 4];
      if (!name || name === 'neg' || (code & ~0xf8) !== BPF_ALU) return bad();
      return code & BPF_X ? `${name} x` : `${name} #${hex(k)}`;
    }
    case BPF_JMP: {
      if (code === (BPF_JMP | BPF_JA)) return `ja l${pc + 1 + k}`;
      const name = JMP_NAMES[code & 0xf0];
      if (!name || (code & ~0xf8) !== BPF_JMP) return bad();
      const operand = code & BPF_X ? 'x' : `#${hex(k)}`;
      if (jt === 0 && jf !== 0 && (code & 0xf0) === BPF_JEQ) return `jneq ${operand}, l${pc + 1 + jf}`;
      if (jf === 0) return `${name} ${operand}, l${pc + 1 + jt}`;
      return `${name} ${operand}, l${pc + 1 + jt}, l${pc + 1 + jf}`;
    }
    case BPF_RET:
      if (code === (BPF_RET | BPF_K)) return `ret #${k}`;
      if (code === (BPF_RET | BPF_A)) return 'ret a';
      if (code === (BPF_RET | BPF_X)) return 'ret x';
      return bad();
    default:
      if (code === (BPF_MISC | BPF_TAX)) return 'tax';
      if (code === (BPF_MISC | BPF_TXA)) return 'txa';
      return bad();
  }
}
