/**
 * An instruction as the kernel's verifier log prints it (kernel/bpf/disasm.c: `(07) r2 += -4`,
 * `if r0 == 0x0 goto pc+2`, `*(u32 *)(r2 +0) = 0`, `call bpf_map_lookup_elem#1`), so that a log of
 * bpfkit's reads line for line like the kernel's. Map `lddw`s name the map where the kernel prints its
 * kernel address, which no one outside the kernel can know.
 */
import { LLVM_ALU_OPS, LLVM_JMP_OPS } from '../asm/format-llvm.js';
import type { Instruction } from '../isa/instruction.js';
import {
  BPF_ABS,
  BPF_ALU,
  BPF_ALU64,
  BPF_ATOMIC,
  BPF_CALL,
  BPF_CMPXCHG,
  BPF_DW,
  BPF_END,
  BPF_EXIT,
  BPF_FETCH,
  BPF_IND,
  BPF_JA,
  BPF_JMP,
  BPF_JMP32,
  BPF_LD,
  BPF_LDX,
  BPF_MEMSX,
  BPF_MOV,
  BPF_NEG,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_KFUNC_CALL,
  BPF_ST,
  BPF_STX,
  BPF_X,
  BPF_XCHG,
  OP_LDDW,
  classOf,
  lddwValue,
  modeOf,
  opOf,
  sizeOf,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_VALUE,
  BPF_PSEUDO_MAP_IDX,
  BPF_PSEUDO_MAP_IDX_VALUE,
} from '../isa/index.js';

const ATOMIC_OPS: Record<number, [string, string]> = {
  0x00: ['+=', 'add'],
  0x40: ['|=', 'or'],
  0x50: ['&=', 'and'],
  0xa0: ['^=', 'xor'],
};
const SIZE_NAMES: Record<number, string> = { 0x00: 'u32', 0x08: 'u16', 0x10: 'u8', 0x18: 'u64' };
const SIGNED_SIZE_NAMES: Record<number, string> = { 0x00: 's32', 0x08: 's16', 0x10: 's8', 0x18: 's64' };

const signedOff = (off: number) => (off < 0 ? `${off}` : `+${off}`);
const hex32 = (imm: number) => `0x${(imm >>> 0).toString(16)}`;

/** What the log names things by: helpers by id, maps by the number their `lddw` carries. */
export interface InsnNames {
  /** A helper's name without `bpf_` (`map_lookup_elem`), or undefined for one bpfkit does not know. */
  helper(id: number): string | undefined;
  /** The name of the map a map `lddw` with this imm refers to. */
  map(imm: number): string | undefined;
}

/** The kernel's text of one instruction, starting with its opcode: `(bf) r2 = r10` (`BUG_cb` for one it cannot show). */
export function kernelInsnText(insn: Instruction, names: InsnNames): string {
  const text = body(insn, names);
  // print_bpf_insn prints an instruction it cannot show as "BUG_<code>" alone, with no "(code)" first.
  if (text.startsWith('BUG_')) return text;
  return `(${insn.code.toString(16).padStart(2, '0')}) ${text}`;
}

function body(insn: Instruction, names: InsnNames): string {
  const cls = classOf(insn.code);
  const op = opOf(insn.code);
  const size = sizeOf(insn.code);
  const mem = (reg: number) => `*(${SIZE_NAMES[size]} *)(r${reg} ${signedOff(insn.off)})`;
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64: {
      const r = cls === BPF_ALU64 ? 'r' : 'w';
      const d = `${r}${insn.dst}`;
      if (op === BPF_END) {
        if (cls === BPF_ALU64) return `${d} = bswap${insn.imm} ${d}`;
        return `${d} = ${insn.code & BPF_X ? 'be' : 'le'}${insn.imm} ${d}`;
      }
      if (op === BPF_NEG) return `${d} = -${d}`;
      if (op === BPF_MOV && insn.off && insn.code & BPF_X) return `${d} = (s${insn.off})${r}${insn.src}`;
      let name = LLVM_ALU_OPS[op] ?? '?';
      if (insn.off === 1 && (op === 0x30 || op === 0x90)) name = `s${name}`;
      return insn.code & BPF_X ? `${d} ${name} ${r}${insn.src}` : `${d} ${name} ${insn.imm}`;
    }
    case BPF_STX:
      if (modeOf(insn.code) === BPF_ATOMIC) {
        const w = size === BPF_DW ? '64' : '';
        const ptr = `(${SIZE_NAMES[size]} *)(r${insn.dst} ${signedOff(insn.off)})`;
        if (insn.imm === BPF_CMPXCHG) return `r0 = atomic${w}_cmpxchg(${ptr}, r0, r${insn.src})`;
        if (insn.imm === BPF_XCHG) return `r${insn.src} = atomic${w}_xchg(${ptr}, r${insn.src})`;
        const a = ATOMIC_OPS[insn.imm & ~BPF_FETCH];
        if (!a) return `BUG_${insn.code.toString(16).padStart(2, '0')}`;
        if (insn.imm & BPF_FETCH) return `r${insn.src} = atomic${w}_fetch_${a[1]}(${ptr}, r${insn.src})`;
        return `lock ${mem(insn.dst)} ${a[0]} r${insn.src}`;
      }
      return `${mem(insn.dst)} = r${insn.src}`;
    case BPF_ST:
      return `${mem(insn.dst)} = ${insn.imm}`;
    case BPF_LDX: {
      const t = modeOf(insn.code) === BPF_MEMSX ? SIGNED_SIZE_NAMES[size] : SIZE_NAMES[size];
      return `r${insn.dst} = *(${t} *)(r${insn.src} ${signedOff(insn.off)})`;
    }
    case BPF_LD: {
      if (insn.code === OP_LDDW) {
        const isMap = [BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_VALUE, BPF_PSEUDO_MAP_IDX_VALUE];
        if (isMap.includes(insn.src)) return `r${insn.dst} = map[${names.map(insn.imm) ?? insn.imm}]`;
        return `r${insn.dst} = 0x${BigInt.asUintN(64, lddwValue(insn)).toString(16)}`;
      }
      const mode = modeOf(insn.code);
      if (mode === BPF_ABS) return `r0 = *(${SIZE_NAMES[size]} *)skb[${insn.imm}]`;
      if (mode === BPF_IND) return `r0 = *(${SIZE_NAMES[size]} *)skb[r${insn.src} + ${insn.imm}]`;
      return `BUG_ld_${insn.code.toString(16).padStart(2, '0')}`;
    }
    case BPF_JMP:
    case BPF_JMP32: {
      if (op === BPF_CALL) {
        if (insn.src === BPF_PSEUDO_CALL) return `call pc${signedOff(insn.imm)}`;
        if (insn.src === BPF_PSEUDO_KFUNC_CALL) return `call kernel-function#${insn.imm}`;
        const name = names.helper(insn.imm);
        return name ? `call bpf_${name}#${insn.imm}` : `call unknown#${insn.imm}`;
      }
      if (op === BPF_EXIT) return 'exit';
      if (insn.code === 0xe5) return `may_goto pc${signedOff(insn.off)}`;
      if (op === BPF_JA) return cls === BPF_JMP32 ? `gotol pc${signedOff(insn.imm)}` : `goto pc${signedOff(insn.off)}`;
      const r = cls === BPF_JMP ? 'r' : 'w';
      const rhs = insn.code & BPF_X ? `${r}${insn.src}` : hex32(insn.imm);
      return `if ${r}${insn.dst} ${LLVM_JMP_OPS[op] ?? '?'} ${rhs} goto pc${signedOff(insn.off)}`;
    }
  }
  return `BUG_${insn.code.toString(16).padStart(2, '0')}`;
}
