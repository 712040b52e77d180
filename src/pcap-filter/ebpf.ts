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
 * XDP programs cannot use LD_ABS, so this form does not load as XDP.
 */
import type { SockFilter } from '../cbpf/insn.js';
import { convertClassic } from '../cbpf/index.js';
import type { Instruction } from '../isa/instruction.js';
import { BPF_ALU, BPF_CALL, BPF_JMP, BPF_K, BPF_MOV, BPF_X, BPF_XOR } from '../isa/opcodes.js';

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
