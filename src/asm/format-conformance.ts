/**
 * One instruction as text in the conformance suite's syntax (bpf_conformance / uBPF style):
 * `mov32 %r1, -13`, `ldxw %r0, [%r1+4]`, `jne %r0, 15, +3`, `lock fetch add [%r10-8], %r1`, `call local +4`.
 * Extensions where the suite has no spelling (see docs/assembly.md): `lddw %r1, 0x.., map_fd` for the
 * pseudo sources, `call runtime N` for kfuncs (src 2), `ldabsb 12` / `ldindb %r1, 12` for packet loads.
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

/** Names of the lddw pseudo sources (src field 1-6), as the conformance-syntax third operand. */
export const LDDW_PSEUDO_NAMES: readonly string[] = [
  '',
  'map_fd',
  'map_value',
  'btf_id',
  'func',
  'map_idx',
  'map_idx_value',
];
const ATOMIC_NAMES: Record<number, string> = { 0x00: 'add', 0x40: 'or', 0x50: 'and', 0xa0: 'xor' };

const rel = (n: number) => (n < 0 ? `${n}` : `+${n}`);
const mem = (reg: number, off: number) => `[%r${reg}${off < 0 ? off : `+${off}`}]`;

/** One instruction in the conformance suite's syntax (`mov %r0, 1`). */
export function formatConformance(insn: Instruction): string {
  const info = describeOpcode(insn.code);
  if (!info || checkInstruction(insn)) return formatRawInsn(insn);
  const { dst, src, off, imm } = insn;
  const op = opOf(insn.code);
  switch (info.kind) {
    case 'alu': {
      const operand = info.reg ? `%r${src}` : `${imm}`;
      if (op === BPF_MOV && off !== 0) return `movsx${off}${info.width} %r${dst}, %r${src}`;
      if ((op === BPF_DIV || op === BPF_MOD) && off === 1) return `s${info.name} %r${dst}, ${operand}`;
      return `${info.name} %r${dst}, ${operand}`;
    }
    case 'neg':
      return `${info.name} %r${dst}`;
    case 'end': {
      const name = classOf(insn.code) === BPF_ALU ? ((insn.code & BPF_X) !== 0 ? 'be' : 'le') : 'bswap';
      return `${name}${imm} %r${dst}`;
    }
    case 'jump':
      return `${info.name} %r${dst}, ${info.reg ? `%r${src}` : imm}, ${rel(off)}`;
    case 'ja':
      return `ja ${rel(off)}`;
    case 'ja32':
      return `ja32 ${rel(imm)}`;
    case 'call':
      if (src === 1) return `call local ${rel(imm)}`;
      if (src === 2) return `call runtime ${imm}`;
      return `call ${imm}`;
    case 'callx':
      return `call %r${dst}`;
    case 'exit':
      return 'exit';
    case 'lddw': {
      const v = `0x${lddwValue(insn).toString(16)}`;
      return src === 0 ? `lddw %r${dst}, ${v}` : `lddw %r${dst}, ${v}, ${LDDW_PSEUDO_NAMES[src]}`;
    }
    case 'ld-abs':
      return `${info.name} ${imm}`;
    case 'ld-ind':
      return `${info.name} %r${src}, ${imm}`;
    case 'ldx':
    case 'ldxsx':
      return `${info.name} %r${dst}, ${mem(src, off)}`;
    case 'st':
      return `${info.name} ${mem(dst, off)}, ${imm}`;
    case 'stx':
      return `${info.name} ${mem(dst, off)}, %r${src}`;
    case 'atomic': {
      const w = info.width === 4 ? '32' : '';
      let name: string;
      if (imm === BPF_XCHG) name = 'xchg';
      else if (imm === BPF_CMPXCHG) name = 'cmpxchg';
      else name = `${imm & BPF_FETCH ? 'fetch ' : ''}${ATOMIC_NAMES[imm & ~BPF_FETCH]}`;
      return `lock ${name}${w} ${mem(dst, off)}, %r${src}`;
    }
  }
}
