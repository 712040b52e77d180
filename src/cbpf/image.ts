/**
 * The text form of a classic instruction exactly as libpcap's bpf_image() prints it, which is what
 * `tcpdump -d` shows: "(NNN) op       operand          jt T\tjf F". Numbers follow its printf formats
 * (k as signed decimal in loads, hex in compares and logic), and absolute loads of a Linux ancillary
 * field print its libpcap name ("ld [proto]").
 */
import {
  BPF_A,
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_B,
  BPF_DIV,
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
  BPF_LSH,
  BPF_MEM,
  BPF_MISC,
  BPF_MOD,
  BPF_MSH,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STX,
  BPF_SUB,
  BPF_TAX,
  BPF_TXA,
  BPF_W,
  BPF_X,
  BPF_XOR,
  bpfClass,
  bpfOp,
  type SockFilter,
} from './insn.js';
import { SKF_AD, SKF_AD_OFF, SKF_AD_MAX } from './ancillary.js';

/** libpcap's names for the ancillary fields, by offset from SKF_AD_OFF. */
const PCAP_ANCILLARY_NAMES: Readonly<Record<number, string>> = {
  [SKF_AD.PROTOCOL]: 'proto',
  [SKF_AD.PKTTYPE]: 'type',
  [SKF_AD.IFINDEX]: 'ifidx',
  [SKF_AD.NLATTR]: 'nla',
  [SKF_AD.NLATTR_NEST]: 'nlan',
  [SKF_AD.MARK]: 'mark',
  [SKF_AD.QUEUE]: 'queue',
  [SKF_AD.HATYPE]: 'hatype',
  [SKF_AD.RXHASH]: 'rxhash',
  [SKF_AD.CPU]: 'cpu',
  [SKF_AD.ALU_XOR_X]: 'xor_x',
  [SKF_AD.VLAN_TAG]: 'vlan_tci',
  [SKF_AD.VLAN_TAG_PRESENT]: 'vlanp',
  [SKF_AD.PAY_OFFSET]: 'poff',
  [SKF_AD.RANDOM]: 'random',
  [SKF_AD.VLAN_TPID]: 'vlan_tpid',
};

const dec = (k: number) => String(k | 0);
const hex = (k: number) => `0x${(k >>> 0).toString(16)}`;

function absOperand(k: number): string {
  const off = (k >>> 0) - (SKF_AD_OFF >>> 0);
  const name = off >= 0 && off < SKF_AD_MAX ? PCAP_ANCILLARY_NAMES[off] : undefined;
  return `[${name ?? dec(k)}]`;
}

const LOAD_OP: Record<number, string> = { [BPF_W]: 'ld', [BPF_H]: 'ldh', [BPF_B]: 'ldb' };
const ALU_NAME: Record<number, string> = {
  [BPF_ADD]: 'add',
  [BPF_SUB]: 'sub',
  [BPF_MUL]: 'mul',
  [BPF_DIV]: 'div',
  [BPF_MOD]: 'mod',
  [BPF_AND]: 'and',
  [BPF_OR]: 'or',
  [BPF_XOR]: 'xor',
  [BPF_LSH]: 'lsh',
  [BPF_RSH]: 'rsh',
};
/** ALU operations whose constant libpcap prints in hex; the others print signed decimal. */
const ALU_HEX = new Set([BPF_AND, BPF_OR, BPF_XOR]);
const JMP_NAME: Record<number, string> = { [BPF_JEQ]: 'jeq', [BPF_JGT]: 'jgt', [BPF_JGE]: 'jge', [BPF_JSET]: 'jset' };

/** Opcode mnemonic and operand text, or undefined for a code bpf_image calls "unimp". */
function parts(i: SockFilter, n: number): [string, string] | undefined {
  const c = i.code;
  switch (bpfClass(c)) {
    case BPF_RET:
      if (c === (BPF_RET | BPF_K)) return ['ret', `#${dec(i.k)}`];
      if (c === (BPF_RET | BPF_A)) return ['ret', ''];
      return undefined;
    case BPF_LD: {
      const size = c & 0x18;
      const op = LOAD_OP[size];
      if ((c & ~0x18) === (BPF_LD | BPF_ABS) && op) return [op, absOperand(i.k)];
      if ((c & ~0x18) === (BPF_LD | BPF_IND) && op) return [op, `[x + ${dec(i.k)}]`];
      if (c === (BPF_LD | BPF_W | BPF_LEN)) return ['ld', '#pktlen'];
      if (c === (BPF_LD | BPF_IMM)) return ['ld', `#${hex(i.k)}`];
      if (c === (BPF_LD | BPF_MEM)) return ['ld', `M[${dec(i.k)}]`];
      return undefined;
    }
    case BPF_LDX:
      if (c === (BPF_LDX | BPF_IMM)) return ['ldx', `#${hex(i.k)}`];
      if (c === (BPF_LDX | BPF_MSH | BPF_B)) return ['ldxb', `4*([${dec(i.k)}]&0xf)`];
      if (c === (BPF_LDX | BPF_MEM)) return ['ldx', `M[${dec(i.k)}]`];
      return undefined;
    case BPF_ST:
      return c === BPF_ST ? ['st', `M[${dec(i.k)}]`] : undefined;
    case BPF_STX:
      return c === BPF_STX ? ['stx', `M[${dec(i.k)}]`] : undefined;
    case BPF_JMP: {
      if (c === (BPF_JMP | BPF_JA)) return ['ja', String((n + 1 + i.k) | 0)];
      const name = JMP_NAME[bpfOp(c)];
      if (!name || (c & ~0xf8) !== BPF_JMP) return undefined;
      return [name, (c & BPF_X) !== 0 ? 'x' : `#${hex(i.k)}`];
    }
    case BPF_ALU: {
      if (c === (BPF_ALU | BPF_NEG)) return ['neg', ''];
      const op = bpfOp(c);
      const name = ALU_NAME[op];
      if (!name || (c & ~0xf8) !== BPF_ALU) return undefined;
      if ((c & BPF_X) !== 0) return [name, 'x'];
      return [name, `#${ALU_HEX.has(op) ? hex(i.k) : dec(i.k)}`];
    }
    default: // MISC
      if (c === (BPF_MISC | BPF_TAX)) return ['tax', ''];
      if (c === (BPF_MISC | BPF_TXA)) return ['txa', ''];
      return undefined;
  }
}

/** One instruction as bpf_image(insn, n) prints it (no newline). */
export function bpfImage(i: SockFilter, n: number): string {
  const [op, operand] = parts(i, n) ?? ['unimp', `0x${i.code.toString(16)}`];
  const at = String(n).padStart(3, '0');
  if (bpfClass(i.code) === BPF_JMP && bpfOp(i.code) !== BPF_JA) {
    return `(${at}) ${op.padEnd(8)} ${operand.padEnd(16)} jt ${n + 1 + i.jt}\tjf ${n + 1 + i.jf}`;
  }
  return `(${at}) ${op.padEnd(8)} ${operand}`;
}

/** A whole program as `tcpdump -d` prints it: one bpf_image line per instruction, each ending in a newline. */
export function formatImage(insns: readonly SockFilter[]): string {
  return insns.map((i, n) => `${bpfImage(i, n)}\n`).join('');
}
