/**
 * A compiled filter as an eBPF program the kernel loads as a socket filter (SOCKET_FILTER) or a tc
 * classifier (SCHED_CLS): the classic program converted by bpfkit/cbpf (LD_ABS/LD_IND through the
 * context in r6, A in r0, X in r7, scratch on the stack; `len` is __sk_buff.len, the context's first
 * field). The conversion follows the kernel's own, which never meets the verifier, in two ways the verifier
 * refuses; both are rewritten here with the same meaning:
 * - it clears A and X with `w0 ^= w0` (reading a register never written): here `w0 = 0`;
 * - its scratch register is r2, which LD_ABS/LD_IND clobber (they act as calls, and r1-r5 do not survive
 *   calls), so A saved in r2 across `ldxb 4*([k]&0xf)` would be lost: here the scratch is r8, which
 *   nothing else uses and calls preserve. Filters from compileFilter make no helper calls.
 * XDP programs cannot use LD_ABS: filterToForm's `xdp` form reads the packet directly instead.
 */
import type { SockFilter } from '../cbpf/insn.js';
import { convertClassic, convertClassicDirect } from '../cbpf/index.js';
import type { Instruction } from '../isa/instruction.js';
import {
  BPF_ALU,
  BPF_ALU64,
  BPF_CALL,
  BPF_EXIT,
  BPF_JA,
  BPF_JEQ,
  BPF_JMP,
  BPF_JMP32,
  BPF_K,
  BPF_MOV,
  BPF_X,
  BPF_XOR,
} from '../isa/opcodes.js';
import { ProgType } from '../uapi/types.js';

/** `prog` as eBPF for SOCKET_FILTER and SCHED_CLS (see the module comment); `source` names it in errors. */
export function filterToEbpf(prog: readonly SockFilter[], source?: string): Instruction[] {
  const out = convertClassic(prog, source);
  for (const insn of out.slice(0, 2)) {
    if (insn.code === (BPF_ALU | BPF_XOR | BPF_X) && insn.dst === insn.src) {
      insn.code = BPF_ALU | BPF_MOV | BPF_K;
      insn.src = 0;
      insn.imm = 0;
    }
  }
  for (const insn of out) {
    if ((insn.code & 0x07) === BPF_JMP && (insn.code & 0xf0) === BPF_CALL) {
      throw new Error('filterToEbpf: the converted program calls a helper (an ancillary load); not rewritable');
    }
    if (insn.dst === 2) insn.dst = 8;
    if (insn.src === 2) insn.src = 8;
  }
  return out;
}

/**
 * The forms a packet filter is loaded in:
 * - `socket`: SOCKET_FILTER, returns the bytes to keep (the snapshot length) or 0 — filterToEbpf as is;
 * - `tc`: SCHED_CLS for cls_bpf's direct-action mode: TC_ACT_OK (0) when the expression matches,
 *   TC_ACT_SHOT (2) when not — a filter that drops what the expression does not keep. It reads the packet
 *   directly (a converted LD_ABS past the end would exit with 0, TC_ACT_OK), pulling a non-linear skb
 *   in first;
 * - `tc-classid`: SCHED_CLS for cls_bpf's classic mode: -1 (the filter's own classid/flowid) on a match,
 *   0 (no match, the next filter is tried) otherwise — LD_ABS's exit with 0 is "no match", as it should;
 * - `xdp`: XDP, XDP_PASS (2) or XDP_DROP (1), the packet read directly from xdp_md's data..data_end with
 *   the bounds checks the verifier wants (convertClassicDirect); the frame starts at its Ethernet header.
 */
export type EbpfForm = 'socket' | 'tc' | 'tc-classid' | 'xdp';

/** Every form's name, for option parsing and help. */
export const EBPF_FORMS: readonly EbpfForm[] = ['socket', 'tc', 'tc-classid', 'xdp'];

/** A filter in one form: its instructions, the program type, and the ELF section libbpf maps to that type. */
export interface EbpfFilter {
  form: EbpfForm;
  insns: Instruction[];
  /** BPF_PROG_TYPE_* (uapi ProgType). */
  progType: number;
  /** libbpf's section name for the type (`socket`, `tc`, `xdp`). */
  section: string;
}

const TC_ACT_OK = 0;
const TC_ACT_SHOT = 2;
const XDP_DROP = 1;
const XDP_PASS = 2;

/** `prog` (a classic filter compiled for the link layer the form sees: EN10MB for tc and xdp, RAW for socket) in `form`. */
export function filterToForm(prog: readonly SockFilter[], form: EbpfForm, source?: string): EbpfFilter {
  switch (form) {
    case 'socket':
      return { form, insns: filterToEbpf(prog, source), progType: ProgType.SOCKET_FILTER, section: 'socket' };
    case 'tc':
      // Direct reads: a converted LD_ABS that falls off the packet exits with 0, which is TC_ACT_OK here.
      return {
        form,
        insns: convertClassicDirect(prog, { keep: TC_ACT_OK, drop: TC_ACT_SHOT, context: 'skb' }, source),
        progType: ProgType.SCHED_CLS,
        section: 'tc',
      };
    case 'tc-classid':
      return {
        form,
        insns: withVerdicts(filterToEbpf(prog, source), -1, 0),
        progType: ProgType.SCHED_CLS,
        section: 'tc',
      };
    case 'xdp':
      return {
        form,
        insns: convertClassicDirect(prog, { keep: XDP_PASS, drop: XDP_DROP, context: 'xdp' }, source),
        progType: ProgType.XDP,
        section: 'xdp',
      };
  }
}

/**
 * Every `exit` of a converted filter (r0 = the classic return value) becomes a jump to an epilogue that
 * maps it: non-zero → `keep`, zero → `drop`. An exit and a jump are one slot each, so nothing moves.
 */
function withVerdicts(insns: Instruction[], keep: number, drop: number): Instruction[] {
  const end = insns.length;
  const out = insns.map((i) => {
    if (i.code !== (BPF_JMP | BPF_EXIT)) return i;
    return { ...i, code: BPF_JMP | BPF_JA, off: end - i.pc - 1 };
  });
  const mov = (imm: number): Instruction => ({
    pc: 0,
    code: BPF_ALU64 | BPF_MOV | BPF_K,
    dst: 0,
    src: 0,
    off: 0,
    imm,
    imm2: 0,
  });
  const ret: Instruction = { pc: 0, code: BPF_JMP | BPF_EXIT, dst: 0, src: 0, off: 0, imm: 0, imm2: 0 };
  // if w0 == 0 goto +2; r0 = keep; exit; r0 = drop; exit
  out.push(
    { pc: 0, code: BPF_JMP32 | BPF_JEQ | BPF_K, dst: 0, src: 0, off: 2, imm: 0, imm2: 0 },
    mov(keep),
    ret,
    mov(drop),
    { ...ret },
  );
  out.forEach((i, pc) => (i.pc = pc));
  return out;
}
