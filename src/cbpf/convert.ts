/**
 * cBPF → eBPF, after the kernel's bpf_convert_filter (net/core/filter.c): the same register mapping
 * (A = r0, X = r7, the context kept in r6, r2 as scratch), M[k] on the stack at r10 - (16 - k) * 4, the
 * same prologue clearing A and X, the same division-by-X guard and the same shapes for conditional jumps
 * (one eBPF jump when jf or jt is the next instruction, else a jump and a `ja`).
 *
 * Two departures, because bpfkit's VM has no sk_buff: packet loads stay eBPF's own LD_ABS/LD_IND (which
 * the VM runs with the kernel's out-of-bounds rule) instead of the kernel's inlined skb->data reads, and
 * ancillary fields are read from a small context block (CLASSIC_CTX below) that r1 points to. The
 * netlink ancillary loads (NLATTR, NLATTR_NEST), which the kernel does with an internal helper, are refused.
 */
import { InputError } from '../util/errors.js';
import {
  BPF_ALU as EBPF_ALU,
  BPF_ALU64,
  BPF_EXIT,
  BPF_JA as EBPF_JA,
  BPF_JLE,
  BPF_JLT,
  BPF_JMP as EBPF_JMP,
  BPF_JNE,
  BPF_LD as EBPF_LD,
  BPF_LDX as EBPF_LDX,
  BPF_MEM as EBPF_MEM,
  BPF_MOV,
  BPF_STX as EBPF_STX,
  BPF_W as EBPF_W,
  BPF_X as EBPF_X,
  BPF_K as EBPF_K,
  BPF_AND as EBPF_AND,
  BPF_LSH as EBPF_LSH,
  BPF_XOR as EBPF_XOR,
  BPF_NEG as EBPF_NEG,
  type Instruction,
} from '../isa/index.js';
import {
  BPF_A,
  BPF_ABS,
  BPF_ALU,
  BPF_DIV,
  BPF_IMM,
  BPF_IND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_MEM,
  BPF_MEMWORDS,
  BPF_MOD,
  BPF_MSH,
  BPF_NEG,
  BPF_RET,
  BPF_ST,
  BPF_STX,
  BPF_TAX,
  BPF_X,
  type SockFilter,
} from './insn.js';
import { type AncillaryName, ancillaryOf } from './ancillary.js';
import { checkClassic } from './check.js';
import type { ResolvedContext } from './context.js';

/** Registers of the mapping (the kernel's BPF_REG_A, _X, _CTX, _TMP). */
const A = 0;
const X = 7;
const CTX = 6;
const TMP = 2;
const FP = 10;

/**
 * The context block a converted program reads through r1: u32 fields at these byte offsets, little-endian.
 * writeClassicContext fills one from a run context.
 */
export const CLASSIC_CTX: Readonly<
  Record<'len' | Exclude<AncillaryName, 'NLATTR' | 'NLATTR_NEST' | 'ALU_XOR_X'>, number>
> = {
  len: 0,
  PROTOCOL: 4,
  PKTTYPE: 8,
  IFINDEX: 12,
  MARK: 16,
  QUEUE: 20,
  HATYPE: 24,
  RXHASH: 28,
  CPU: 32,
  VLAN_TAG: 36,
  VLAN_TAG_PRESENT: 40,
  VLAN_TPID: 44,
  PAY_OFFSET: 48,
  RANDOM: 52,
};
/** Size of the context block. */
export const CLASSIC_CTX_SIZE = 56;

/** The context block for one run (see CLASSIC_CTX). */
export function writeClassicContext(c: ResolvedContext, out = new Uint8Array(CLASSIC_CTX_SIZE)): Uint8Array {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const put = (field: keyof typeof CLASSIC_CTX, v: number) => dv.setUint32(CLASSIC_CTX[field], v >>> 0, true);
  put('len', c.len);
  put('PROTOCOL', c.protocol);
  put('PKTTYPE', c.pktType);
  put('IFINDEX', c.ifindex);
  put('MARK', c.mark);
  put('QUEUE', c.queue);
  put('HATYPE', c.hatype);
  put('RXHASH', c.rxhash);
  put('CPU', c.cpu);
  put('VLAN_TAG', c.vlanTci);
  put('VLAN_TAG_PRESENT', c.vlanPresent);
  put('VLAN_TPID', c.vlanTpid);
  put('PAY_OFFSET', c.payOffset);
  put('RANDOM', c.random);
  return out;
}

/** One eBPF instruction under construction; `target` is a cBPF index a jump must reach. */
interface Pending {
  insn: Instruction;
  target?: number;
}

const ins = (code: number, dst = 0, src = 0, off = 0, imm = 0, target?: number): Pending => ({
  insn: { pc: 0, code, dst, src, off, imm: imm | 0, imm2: 0 },
  target,
});
const alu32 = (op: number, dst: number, imm: number) => ins(EBPF_ALU | op | EBPF_K, dst, 0, 0, imm);
const alu32Reg = (op: number, dst: number, src: number) => ins(EBPF_ALU | op | EBPF_X, dst, src);
const mov64Reg = (dst: number, src: number) => ins(BPF_ALU64 | BPF_MOV | EBPF_X, dst, src);
const ldxW = (dst: number, src: number, off: number) => ins(EBPF_LDX | EBPF_MEM | EBPF_W, dst, src, off);
const stxW = (dst: number, src: number, off: number) => ins(EBPF_STX | EBPF_MEM | EBPF_W, dst, src, off);
const exit = () => ins(EBPF_JMP | BPF_EXIT);
const memOff = (k: number) => -(BPF_MEMWORDS - k) * 4;

/** What the kernel turns an eBPF jump into when jt falls through: the inverse comparison on jf. */
const INVERSE: Readonly<Record<number, number>> = { [BPF_JEQ]: BPF_JNE, [BPF_JGT]: BPF_JLE, [BPF_JGE]: BPF_JLT };

/**
 * Convert a program (it must pass checkClassic: InputError otherwise). The result runs with r1 = a
 * CLASSIC_CTX block and the packet as the VM's LD_ABS packet; r0 at exit is the cBPF return value.
 */
export function convertClassic(insns: readonly SockFilter[], source?: string): Instruction[] {
  const bad = checkClassic(insns);
  if (bad) throw new InputError(`${bad.message} (${bad.rule})`, source);
  const out: Pending[] = [alu32Reg(EBPF_XOR, A, A), alu32Reg(EBPF_XOR, X, X), mov64Reg(CTX, 1)];
  const start: number[] = [];
  insns.forEach((f, i) => {
    start.push(out.length);
    for (const p of convertOne(f, i, source)) out.push(p);
  });
  start.push(out.length);
  return out.map((p, pc) => {
    const insn = p.insn;
    insn.pc = pc;
    if (p.target !== undefined) {
      insn.off = start[p.target]! - pc - 1;
      if (insn.off > 0x7fff)
        throw new InputError(`the converted program is too long for a 16-bit jump offset at eBPF pc ${pc}`, source);
    }
    return insn;
  });
}

function convertOne(f: SockFilter, i: number, source?: string): Pending[] {
  const { code, jt, jf } = f;
  const k = f.k >>> 0;
  switch (code & 0x07) {
    case BPF_RET:
      return code === (BPF_RET | BPF_A) ? [exit()] : [alu32(BPF_MOV, A, k), exit()];
    case BPF_LD:
    case BPF_LDX: {
      const dst = (code & 0x07) === BPF_LD ? A : X;
      const mode = code & 0xe0;
      if (mode === BPF_IMM) return [alu32(BPF_MOV, dst, k)];
      if (mode === BPF_MEM) return [ldxW(dst, FP, memOff(k))];
      if (mode === BPF_LEN) return [ldxW(dst, CTX, CLASSIC_CTX.len)];
      if (mode === BPF_MSH) {
        return [
          mov64Reg(TMP, A),
          ins(EBPF_LD | BPF_ABS | 0x10, 0, 0, 0, k), // ldb [k]
          alu32(EBPF_AND, A, 0xf),
          alu32(EBPF_LSH, A, 2),
          mov64Reg(X, A),
          mov64Reg(A, TMP),
        ];
      }
      const size = code & 0x18;
      if (mode === BPF_ABS) {
        const anc = ancillaryOf(k);
        if (anc === 'ALU_XOR_X') return [alu32Reg(EBPF_XOR, A, X)];
        if (anc === 'NLATTR' || anc === 'NLATTR_NEST') {
          throw new InputError(
            `instruction ${i}: the ${anc} ancillary load needs the kernel's netlink helper and is not converted (runClassic runs it)`,
            source,
          );
        }
        if (anc !== undefined) return [ldxW(A, CTX, CLASSIC_CTX[anc])];
        return [ins(EBPF_LD | BPF_ABS | size, 0, 0, 0, k)];
      }
      return [ins(EBPF_LD | BPF_IND | size, 0, X, 0, k)]; // BPF_IND
    }
    case BPF_ST:
      return [stxW(FP, A, memOff(k))];
    case BPF_STX:
      return [stxW(FP, X, memOff(k))];
    case BPF_ALU: {
      const op = code & 0xf0;
      if (op === BPF_NEG) return [ins(EBPF_ALU | EBPF_NEG, A)];
      if ((code & BPF_X) === 0) return [alu32(op, A, k)];
      const guard =
        op === BPF_DIV || op === BPF_MOD
          ? [ins(EBPF_JMP | BPF_JNE | EBPF_K, X, 0, 2, 0), alu32Reg(EBPF_XOR, A, A), exit()]
          : [];
      return [...guard, alu32Reg(op, A, X)];
    }
    case BPF_JMP: {
      const op = code & 0xf0;
      if (op === BPF_JA) return [ins(EBPF_JMP | EBPF_JA, 0, 0, 0, 0, i + 1 + k)];
      const pre: Pending[] = [];
      let src = 0;
      let imm = k;
      let form = EBPF_K;
      if ((code & BPF_X) !== 0) {
        // The kernel leaves k in the imm of an X-form jump (its interpreter ignores it); eBPF wants 0.
        src = X;
        imm = 0;
        form = EBPF_X;
      } else if ((k | 0) < 0) {
        // eBPF sign-extends a jump's immediate; the kernel compares against a zero-extended copy instead.
        pre.push(alu32(BPF_MOV, TMP, k));
        src = TMP;
        imm = 0;
        form = EBPF_X;
      }
      const jump = (jop: number, target: number): Pending => ins(EBPF_JMP | jop | form, A, src, 0, imm, target);
      if (jf === 0) return [...pre, jump(op, i + 1 + jt)];
      if (jt === 0 && INVERSE[op] !== undefined) return [...pre, jump(INVERSE[op], i + 1 + jf)];
      return [...pre, jump(op, i + 1 + jt), ins(EBPF_JMP | EBPF_JA, 0, 0, 0, 0, i + 1 + jf)];
    }
    default: // MISC
      return (code & 0xf8) === BPF_TAX ? [mov64Reg(X, A)] : [mov64Reg(A, X)];
  }
}
