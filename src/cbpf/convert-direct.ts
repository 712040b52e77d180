/**
 * cBPF → eBPF with direct packet access, for program types that have no LD_ABS/LD_IND (XDP): the
 * packet is read between the context's `data` and `data_end` pointers, each load preceded by the bounds
 * check the verifier wants (a pointer to the load's end compared with data_end), and a failed check
 * returns the drop verdict — classic BPF's rule that a load outside the packet ends the program with 0.
 *
 * Registers: r6 = data, r7 = data_end, w8 = A, w9 = X, r1-r4 scratch, M[k] at r10 - 64 + 4k (cleared
 * first, as the verifier refuses to read a slot never written), the context at r10 - 72 for `ld len`. Every classic return becomes `r0 = keep`
 * (a non-zero value) or `r0 = drop` (zero); `ret a` tests A at run time. Division or modulo by X = 0
 * drops, as classic BPF does (eBPF's own rule would give 0 and go on).
 *
 * What has no meaning without an sk_buff is refused with the instruction's number: ancillary loads
 * (SKF_AD_*) and the SKF_NET_OFF / SKF_LL_OFF bases at constant offsets. An indirect load whose x + k
 * falls outside 0..0xff00 drops (a negative int32 offset reaches those bases in the kernel's socket
 * filters; no XDP frame is that long, and the verifier wants the variable offset bounded).
 */
import { InputError } from '../util/errors.js';
import {
  BPF_ADD as E_ADD,
  BPF_ALU as E_ALU,
  BPF_ALU64,
  BPF_END,
  BPF_EXIT,
  BPF_JA as E_JA,
  BPF_JGT as E_JGT,
  BPF_JMP as E_JMP,
  BPF_JMP32,
  BPF_JNE,
  BPF_JLE,
  BPF_CALL,
  BPF_K as E_K,
  BPF_LDX as E_LDX,
  BPF_MEM as E_MEM,
  BPF_MOV,
  BPF_ST as E_ST,
  BPF_STX as E_STX,
  BPF_DW,
  BPF_TO_BE,
  BPF_W as E_W,
  BPF_H as E_H,
  BPF_B as E_B,
  BPF_X as E_X,
  BPF_JEQ as E_JEQ,
  BPF_AND as E_AND,
  BPF_LSH as E_LSH,
  type Instruction,
} from '../isa/index.js';
import { ancillaryOf } from './ancillary.js';
import { checkClassic } from './check.js';
import {
  BPF_A,
  BPF_ABS,
  BPF_ALU,
  BPF_B,
  BPF_DIV,
  BPF_H,
  BPF_IMM,
  BPF_JA,
  BPF_JMP,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_MEM,
  BPF_MOD,
  BPF_MSH,
  BPF_NEG,
  BPF_RET,
  BPF_ST,
  BPF_STX,
  BPF_TAX,
  BPF_TXA,
  BPF_X,
  type SockFilter,
} from './insn.js';

/** The verdicts a direct-access program returns, and the context it runs on. */
export interface DirectVerdicts {
  /** r0 when the classic program would return non-zero (XDP_PASS = 2, TC_ACT_OK = 0...). */
  keep: number;
  /** r0 when it would return 0, or a load falls outside the packet (XDP_DROP = 1...). */
  drop: number;
  /**
   * `xdp`: xdp_md (data at 0, data_end at 4; `ld len` is bpf_xdp_get_buff_len). `skb`: __sk_buff (data at
   * 76, data_end at 80; `ld len` is skb->len), and a non-linear skb is first made linear with
   * bpf_skb_pull_data, so direct reads see what LD_ABS would.
   */
  context: 'xdp' | 'skb';
}

/** BPF_FUNC_skb_pull_data and BPF_FUNC_xdp_get_buff_len. */
const SKB_PULL_DATA = 39;
const XDP_GET_BUFF_LEN = 188;
/** Where the context pointer is kept for `ld len`. */
const CTX_SLOT = -72;

/** Conditions with an eBPF opposite (jeq/jne, jgt/jle, jge/jlt), for `jt = 0` jumps; jset has none. */
const INVERSE = new Map<number, number>([
  [E_JEQ, BPF_JNE],
  [E_JGT, BPF_JLE],
  [0x30, 0xa0], // jge → jlt
]);

/** The largest x + k an indirect load may use (see the module comment). */
const MAX_IND_OFFSET = 0xff00;

const A = 8;
const X = 9;
const DATA = 6;
const END = 7;
const FP = 10;

/** One eBPF instruction still to be placed; `target` is a classic pc (or DROP) its offset points to. */
interface Pending {
  insn: Instruction;
  target?: number;
}

const DROP = -1;

function ins(code: number, dst = 0, src = 0, off = 0, imm = 0): Pending {
  return { insn: { pc: 0, code, dst, src, off, imm: imm | 0, imm2: 0 } };
}

const memSlot = (k: number): number => -64 + 4 * k;
const classSize = (code: number): 1 | 2 | 4 => ((code & 0x18) === BPF_B ? 1 : (code & 0x18) === BPF_H ? 2 : 4);
const ebpfSize = (s: 1 | 2 | 4): number => (s === 1 ? E_B : s === 2 ? E_H : E_W);

/**
 * A checked classic program as eBPF reading the packet directly (see the module comment); `source`
 * names the program in errors.
 */
export function convertClassicDirect(
  prog: readonly SockFilter[],
  verdicts: DirectVerdicts,
  source?: string,
): Instruction[] {
  const bad = checkClassic(prog);
  if (bad) throw new InputError(`${bad.message} (${bad.rule})`, source);
  const refuse = (pc: number, what: string): never => {
    throw new InputError(`instruction ${pc}: ${what} has no meaning without a socket buffer`, source);
  };
  const out: Pending[] = [];
  const start: number[] = [];
  const jumpTo = (code: number, target: number, dst = 0, src = 0, imm = 0): void => {
    out.push({ insn: { pc: 0, code, dst, src, off: 0, imm: imm | 0, imm2: 0 }, target });
  };
  // The load of `size` bytes at r2 (a packet pointer) into `dst`, after checking r2 + size <= data_end.
  const loadAtR2 = (dst: number, size: 1 | 2 | 4): void => {
    out.push(ins(BPF_ALU64 | BPF_MOV | E_X, 3, 2), ins(BPF_ALU64 | E_ADD | E_K, 3, 0, 0, size));
    jumpTo(E_JMP | E_JGT | E_X, DROP, 3, END);
    out.push(ins(E_LDX | E_MEM | ebpfSize(size), dst, 2, 0));
    if (size > 1) out.push(ins(E_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, size * 8));
  };
  const loadConst = (pc: number, dst: number, k: number, size: 1 | 2 | 4): void => {
    if ((k | 0) < 0) refuse(pc, ancillaryOf(k) !== undefined ? 'an ancillary load' : 'a negative (SKF_*_OFF) offset');
    if (k + size > MAX_IND_OFFSET) {
      jumpTo(E_JMP | E_JA, DROP);
      return;
    }
    out.push(ins(BPF_ALU64 | BPF_MOV | E_X, 2, DATA), ins(BPF_ALU64 | E_ADD | E_K, 2, 0, 0, k));
    loadAtR2(dst, size);
  };

  const skb = verdicts.context === 'skb';
  const dataOffset = skb ? 76 : 0;
  const dataEndOffset = skb ? 80 : 4;
  if (skb) {
    // r8 = ctx; if skb->len <= 0xfff0 and data + skb->len <= data_end, the data is linear: skip the pull.
    out.push(
      ins(BPF_ALU64 | BPF_MOV | E_X, A, 1),
      ins(E_LDX | E_MEM | E_W, 2, 1, 0),
      ins(E_JMP | E_JGT | E_K, 2, 0, 4, 0xfff0),
      ins(E_LDX | E_MEM | E_W, 3, 1, dataOffset),
      ins(E_LDX | E_MEM | E_W, 4, 1, dataEndOffset),
      ins(BPF_ALU64 | E_ADD | E_X, 3, 2),
      ins(E_JMP | BPF_JLE | E_X, 3, 4, 3),
      ins(BPF_ALU64 | BPF_MOV | E_X, 1, A),
      ins(BPF_ALU64 | BPF_MOV | E_K, 2, 0, 0, 0),
      ins(E_JMP | BPF_CALL, 0, 0, 0, SKB_PULL_DATA),
      ins(BPF_ALU64 | BPF_MOV | E_X, 1, A),
    );
  }
  // Prologue: the packet pointers, A = X = 0, every M[] slot the program touches cleared.
  out.push(
    ins(E_LDX | E_MEM | E_W, DATA, 1, dataOffset),
    ins(E_LDX | E_MEM | E_W, END, 1, dataEndOffset),
    ins(E_ALU | BPF_MOV | E_K, A, 0, 0, 0),
    ins(E_ALU | BPF_MOV | E_K, X, 0, 0, 0),
    ins(E_STX | E_MEM | BPF_DW, FP, 1, CTX_SLOT),
  );
  const slots = new Set<number>();
  for (const i of prog) {
    const cls = i.code & 7;
    if (cls === BPF_ST || cls === BPF_STX || ((cls === BPF_LD || cls === BPF_LDX) && (i.code & 0xe0) === BPF_MEM))
      slots.add(i.k);
  }
  for (const k of slots) out.push(ins(E_ST | E_MEM | E_W, FP, 0, memSlot(k), 0));

  for (let pc = 0; pc < prog.length; pc++) {
    start[pc] = out.length;
    const { code, jt, jf } = prog[pc]!;
    const k = prog[pc]!.k >>> 0;
    const cls = code & 7;
    const mode = code & 0xe0;
    switch (cls) {
      case BPF_RET:
        if (code === (BPF_RET | BPF_A)) {
          // r0 = keep; if A != 0 skip the next; r0 = drop; exit
          out.push(
            ins(BPF_ALU64 | BPF_MOV | E_K, 0, 0, 0, verdicts.keep),
            ins(BPF_JMP32 | BPF_JNE | E_K, A, 0, 1, 0),
            ins(BPF_ALU64 | BPF_MOV | E_K, 0, 0, 0, verdicts.drop),
            ins(E_JMP | BPF_EXIT),
          );
        } else
          out.push(ins(BPF_ALU64 | BPF_MOV | E_K, 0, 0, 0, k ? verdicts.keep : verdicts.drop), ins(E_JMP | BPF_EXIT));
        break;
      case BPF_LD:
      case BPF_LDX: {
        const reg = cls === BPF_LD ? A : X;
        if (mode === BPF_IMM) out.push(ins(E_ALU | BPF_MOV | E_K, reg, 0, 0, k));
        else if (mode === BPF_MEM) out.push(ins(E_LDX | E_MEM | E_W, reg, FP, memSlot(k)));
        else if (mode === BPF_LEN) {
          out.push(ins(E_LDX | E_MEM | BPF_DW, 1, FP, CTX_SLOT));
          if (skb) out.push(ins(E_LDX | E_MEM | E_W, reg, 1, 0));
          else out.push(ins(E_JMP | BPF_CALL, 0, 0, 0, XDP_GET_BUFF_LEN), ins(E_ALU | BPF_MOV | E_X, reg, 0));
        } else if (mode === BPF_MSH) {
          loadConst(pc, X, k, 1);
          out.push(ins(E_ALU | E_AND | E_K, X, 0, 0, 0xf), ins(E_ALU | E_LSH | E_K, X, 0, 0, 2));
        } else if (mode === BPF_ABS) loadConst(pc, A, k, classSize(code));
        else {
          // BPF_IND: w1 = X + k (32-bit), bounded, then a variable offset from data.
          out.push(ins(E_ALU | BPF_MOV | E_X, 1, X), ins(E_ALU | E_ADD | E_K, 1, 0, 0, k));
          jumpTo(E_JMP | E_JGT | E_K, DROP, 1, 0, MAX_IND_OFFSET);
          out.push(ins(BPF_ALU64 | BPF_MOV | E_X, 2, DATA), ins(BPF_ALU64 | E_ADD | E_X, 2, 1));
          loadAtR2(A, classSize(code));
        }
        break;
      }
      case BPF_ST:
      case BPF_STX:
        out.push(ins(E_STX | E_MEM | E_W, FP, cls === BPF_ST ? A : X, memSlot(k)));
        break;
      case BPF_ALU: {
        const op = code & 0xf0;
        if (op === BPF_NEG) {
          out.push(ins(E_ALU | BPF_NEG, A));
          break;
        }
        if ((code & BPF_X) !== 0) {
          if (op === BPF_DIV || op === BPF_MOD) jumpTo(BPF_JMP32 | E_JEQ | E_K, DROP, X, 0, 0);
          out.push(ins(E_ALU | op | E_X, A, X));
        } else out.push(ins(E_ALU | op | E_K, A, 0, 0, k));
        break;
      }
      case BPF_JMP: {
        const op = code & 0xf0;
        if (op === BPF_JA) {
          jumpTo(E_JMP | E_JA, pc + 1 + k);
          break;
        }
        const src = (code & BPF_X) !== 0 ? E_X : E_K;
        const reg = src === E_X ? X : 0;
        const inverse = INVERSE.get(op);
        if (jt === 0 && jf !== 0 && inverse !== undefined) {
          jumpTo(BPF_JMP32 | inverse | src, pc + 1 + jf, A, reg, k);
          break;
        }
        if (jt !== 0 || jf === 0) jumpTo(BPF_JMP32 | op | src, pc + 1 + jt, A, reg, k);
        if (jf !== 0) {
          // Falls through only when the condition fails: jt was taken above, or (jt = 0, jset) skip.
          if (jt === 0) jumpTo(BPF_JMP32 | op | src, pc + 1, A, reg, k);
          jumpTo(E_JMP | E_JA, pc + 1 + jf);
        }
        break;
      }
      default:
        if ((code & 0xf8) === BPF_TAX) out.push(ins(E_ALU | BPF_MOV | E_X, X, A));
        else if ((code & 0xf8) === BPF_TXA) out.push(ins(E_ALU | BPF_MOV | E_X, A, X));
    }
  }
  // The shared drop exit, when some check jumps to it (the verifier refuses unreachable code).
  const dropAt = out.length;
  if (out.some((p) => p.target === DROP))
    out.push(ins(BPF_ALU64 | BPF_MOV | E_K, 0, 0, 0, verdicts.drop), ins(E_JMP | BPF_EXIT));
  return out.map((p, pc) => {
    const insn = p.insn;
    insn.pc = pc;
    if (p.target !== undefined) {
      const to = p.target === DROP ? dropAt : start[p.target]!;
      insn.off = to - pc - 1;
      if (insn.off > 0x7fff)
        throw new InputError(`the converted program is too long for a 16-bit jump offset at eBPF pc ${pc}`, source);
    }
    return insn;
  });
}
