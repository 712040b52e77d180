/**
 * bpf_l3_csum_replace and bpf_l4_csum_replace(skb, offset, from, to, flags) in WebAssembly: the
 * incremental checksum fix-up a header rewrite comes with (examples/port-demux), without leaving the
 * module. They do what the helpers (helpers/packet-helpers.ts l3CsumReplace, l4CsumReplace, with the
 * arithmetic of helpers/checksum.ts) do, in the helpers' order:
 *
 * - flags (all 64 bits) outside the helper's mask (l3: the size field; l4: also BPF_F_PSEUDO_HDR, BPF_F_MARK_MANGLED_0,
 *   BPF_F_MARK_ENFORCE, BPF_F_IPV6): r0 = -EINVAL;
 * - an offset above 0xffff, odd, or with the 16-bit field past the packet's length: r0 = -EFAULT;
 * - l4 with BPF_F_MARK_MANGLED_0 but not BPF_F_MARK_ENFORCE, on a zero checksum: r0 = 0, nothing written;
 * - size 0 with from (all 64 bits) != 0, or a size other than 0, 2, 4: r0 = -EINVAL;
 * - else the field (16 bits, little-endian as the program sees it) becomes csum_replace_by_diff(sum, to)
 *   (size 0), csum_replace2(sum, from, to) (size 2: the low 16 bits of each) or csum_replace4(sum, from,
 *   to) (size 4) — for l4 with BPF_F_MARK_MANGLED_0, 0xffff where that gives 0 — and r0 = 0.
 *
 * The VM's skbs are CHECKSUM_NONE, so BPF_F_PSEUDO_HDR changes nothing (as in the helper) and no skb
 * field moves; the budget is not charged. offset, and from and to where they are summed, are the
 * registers' low halves; r1-r5 stay. The module declines — the helper runs, before anything changed —
 * only when the packet gate says no (skb-load-bytes.ts packetGate).
 *
 * r0 is the scratch register of the one's-complement sums: every path that uses it then sets it.
 */
import { Body, L_T, L_TI, L_TJ, reg } from './body.js';
import { packetData, packetGate, packetLength, PacketHelper } from './skb-load-bytes.js';
import * as W from './opcodes.js';

/** The helpers' numbers. */
export const L3_CSUM_REPLACE = 10;
export const L4_CSUM_REPLACE = 11;
const EINVAL = 22;
const EFAULT = 14;
const BPF_F_HDR_FIELD_MASK = 0xf;
const BPF_F_PSEUDO_HDR = 1 << 4;
const BPF_F_MARK_MANGLED_0 = 1 << 5;
const BPF_F_MARK_ENFORCE = 1 << 6;
const BPF_F_IPV6 = 1 << 7;
const CSUM_MANGLED_0 = 0xffff;
const L4_FLAGS = BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_PSEUDO_HDR | BPF_F_IPV6 | BPF_F_HDR_FIELD_MASK;

/** Emit the call of helper 10 (l4: 11) at its site; `slow` emits the helper call through the import. */
export function emitCsumReplace(b: Body, l4: boolean, slow: () => void): void {
  const R0 = reg(0);
  // block $done, block $slow: `br 0` at the top level goes to the helper
  b.op(W.BLOCK, W.VOID).op(W.BLOCK, W.VOID);
  packetGate(b, l4 ? PacketHelper.L4CsumReplace : PacketHelper.L3CsumReplace);
  const flags = (): Body => b.get(reg(5)).op(W.I32_WRAP_I64);
  // (inside an `if` at the top level, $done is 2 out)
  const finish = (errno: number): void => {
    if (errno === 0) b.i64(0, 0);
    else b.i64(-errno, -1);
    b.set(R0).br(2);
  };
  // flags (a u64) outside the mask: -EINVAL
  b.get(reg(5))
    .i64(~(l4 ? L4_FLAGS : BPF_F_HDR_FIELD_MASK), -1)
    .op(W.I64_AND, W.I64_EQZ, W.I32_EQZ)
    .if();
  finish(EINVAL);
  b.end();
  // offset (low half) above 0xffff, odd, or offset + 2 past the packet: -EFAULT
  b.get(reg(2)).op(W.I32_WRAP_I64).tee(L_TI).i32(0xffff).op(W.I32_GT_U);
  b.get(L_TI).i32(1).op(W.I32_AND, W.I32_OR);
  b.get(L_TI).i32(2).op(W.I32_ADD);
  packetLength(b).op(W.I32_GT_S, W.I32_OR).if();
  finish(EFAULT);
  b.end();
  // L_TI the field's linear address, L_T the checksum in it
  packetData(b).get(L_TI).op(W.I32_ADD).tee(L_TI).mem(W.I64_LOAD16_U, 0, 0).set(L_T);
  if (l4) {
    // BPF_F_MARK_MANGLED_0 without BPF_F_MARK_ENFORCE: a zero checksum (none computed) stays
    flags()
      .i32(BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE)
      .op(W.I32_AND)
      .i32(BPF_F_MARK_MANGLED_0)
      .op(W.I32_EQ);
    b.get(L_T).op(W.I64_EQZ, W.I32_AND).if();
    finish(0);
    b.end();
  }
  // the size: 0 (then from must be 0), 2 or 4, else -EINVAL
  flags().i32(BPF_F_HDR_FIELD_MASK).op(W.I32_AND).tee(L_TJ).op(W.I32_EQZ).if32();
  b.get(reg(3)).op(W.I64_EQZ, W.I32_EQZ); // (from is a u64)
  b.else();
  b.get(L_TJ).i32(2).op(W.I32_NE).get(L_TJ).i32(4).op(W.I32_NE, W.I32_AND);
  b.end().if();
  finish(EINVAL);
  b.end();

  const u32 = (r: number): Body => b.get(reg(r)).i64(-1, 0).op(W.I64_AND);
  const u16 = (r: number): Body => b.get(reg(r)).i64(0xffff, 0).op(W.I64_AND);
  const not16 = (): Body => b.i64(0xffff, 0).op(W.I64_XOR);
  // csum_add of the two i64s on the stack (each below 2^32): the 33-bit sum with its carry added back
  const csumAdd = (): Body =>
    b.op(W.I64_ADD).set(R0).get(R0).i64(-1, 0).op(W.I64_AND).get(R0).i64(32, 0).op(W.I64_SHR_U, W.I64_ADD);
  // csum16_add: the same on 16 bits
  const csum16Add = (): Body =>
    b.op(W.I64_ADD).set(R0).get(R0).get(R0).i64(16, 0).op(W.I64_SHR_U, W.I64_ADD).i64(0xffff, 0).op(W.I64_AND);
  // csum_fold: twice the high half added to the low, then complemented (after two folds it is <= 0xffff)
  const csumFold = (): Body => {
    for (let i = 0; i < 2; i++)
      b.set(R0).get(R0).i64(0xffff, 0).op(W.I64_AND).get(R0).i64(16, 0).op(W.I64_SHR_U, W.I64_ADD);
    return not16();
  };
  // ~sum: 16 bits for csum16_add, of the 32-bit unfolded sum (0xffff0000 | ~sum) for csum_add
  const sumNot16 = (): Body => b.get(L_T).i64(0xffff, 0).op(W.I64_XOR);
  const sumNot32 = (): Body => b.get(L_T).i64(-1, 0).op(W.I64_XOR);

  b.get(L_TJ).op(W.I32_EQZ).if64();
  // csum_replace_by_diff(sum, to): csum_fold(csum_add(to, ~sum))
  u32(4);
  sumNot32();
  csumAdd();
  csumFold();
  b.else().get(L_TJ).i32(2).op(W.I32_EQ).if64();
  // csum_replace2(sum, from, to): ~csum16_add(csum16_add(~sum, ~from), to)
  sumNot16();
  u16(3);
  not16();
  csum16Add();
  u16(4);
  csum16Add();
  not16();
  b.else();
  // csum_replace4(sum, from, to): csum_fold(csum_add(csum_sub(~sum, from), to))
  sumNot32();
  u32(3).i64(-1, 0).op(W.I64_XOR);
  csumAdd();
  u32(4);
  csumAdd();
  csumFold();
  b.end().end().set(L_T);
  if (l4) {
    // BPF_F_MARK_MANGLED_0: a result of 0 is written as CSUM_MANGLED_0
    b.get(L_T).op(W.I64_EQZ);
    flags().i32(BPF_F_MARK_MANGLED_0).op(W.I32_AND, W.I32_EQZ, W.I32_EQZ, W.I32_AND).if();
    b.i64(CSUM_MANGLED_0, 0).set(L_T);
    b.end();
  }
  b.get(L_TI).get(L_T).mem(W.I64_STORE16, 0, 0);
  b.i64(0, 0).set(R0);
  b.br(1).end();
  slow();
  b.end();
}
