/**
 * bpf_skb_store_bytes(skb, offset, from, len, flags) in WebAssembly, so a program that rewrites a header
 * field per packet (examples/port-demux) stays inside the module. It does what the helper
 * (helpers/packet-helpers.ts skbStoreBytes) does, in the helper's order:
 *
 * - flags (all 64 bits) other than BPF_F_RECOMPUTE_CSUM and BPF_F_INVALIDATE_HASH: r0 = -EINVAL;
 * - an offset above 0x7fffffff or offset + len past the packet's length: r0 = -EFAULT;
 * - else the len bytes at `from` are copied to packet data + offset and r0 = 0.
 *
 * Nothing else changes: the VM's skbs are CHECKSUM_NONE, so BPF_F_RECOMPUTE_CSUM has nothing to update,
 * the packet's bounds stay, and the budget is charged nothing below 64 bytes. offset and len are the
 * registers' low halves, as the helper reads them; r1-r5 are left as they were.
 *
 * The module declines — and the helper runs, before anything changed — when the packet gate says no
 * (skb-load-bytes.ts packetGate: no packet, not in linear memory, a host's own helper 9), for
 * BPF_F_INVALIDATE_HASH (the helper zeroes skb->hash and rewrites the whole __sk_buff), and for a
 * copy it cannot make alone: len 0 or >= 64, or a source not wholly in the current frame (the helper
 * checks it and faults with its own message, or reads a map value, the context, the packet).
 */
import { STACK_SIZE } from '../../isa/index.js';
import { Body, L_FP, L_T, L_TI, L_TJ, reg } from './body.js';
import { MAX_INLINE_LEN, moveBytes, packetData, packetGate, packetLength, PacketHelper } from './skb-load-bytes.js';
import * as W from './opcodes.js';

/** The helper's number. */
export const SKB_STORE_BYTES = 9;
const EINVAL = 22;
const EFAULT = 14;
const BPF_F_RECOMPUTE_CSUM = 1;
const BPF_F_INVALIDATE_HASH = 2;

/** Emit the call at its site; `slow` emits the helper call through the import. */
export function emitSkbStoreBytes(b: Body, slow: () => void): void {
  // block $done, block $slow: `br 0` at the top level goes to the helper
  b.op(W.BLOCK, W.VOID).op(W.BLOCK, W.VOID);
  packetGate(b, PacketHelper.StoreBytes);
  const flags = (): Body => b.get(reg(5)).op(W.I32_WRAP_I64);
  // (inside an `if` at the top level, $done is 2 out)
  const fail = (errno: number): void => {
    b.i64(-errno, -1).set(reg(0)).br(2);
  };
  // flags (a u64) other than BPF_F_RECOMPUTE_CSUM and BPF_F_INVALIDATE_HASH: -EINVAL
  b.get(reg(5))
    .i64(~(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH), -1)
    .op(W.I64_AND, W.I64_EQZ, W.I32_EQZ)
    .if();
  fail(EINVAL);
  b.end();
  // BPF_F_INVALIDATE_HASH: the helper
  flags().i32(BPF_F_INVALIDATE_HASH).op(W.I32_AND, W.BR_IF).u32(0);
  // offset (low half, unsigned) above 0x7fffffff, or offset + len (low halves) past the packet: -EFAULT
  const offset = (): Body => b.get(reg(2)).i64(-1, 0).op(W.I64_AND);
  offset().i64(0x7fffffff, 0).op(W.I64_GT_U);
  offset().get(reg(4)).i64(-1, 0).op(W.I64_AND, W.I64_ADD);
  packetLength(b).op(W.I64_EXTEND_I32_U, W.I64_GT_U, W.I32_OR).if();
  fail(EFAULT);
  b.end();
  // 1 <= len <= MAX_INLINE_LEN, else the helper (which charges the budget from 64 bytes on)
  b.get(reg(4)).op(W.I32_WRAP_I64).tee(L_TJ).i32(1).op(W.I32_SUB).i32(MAX_INLINE_LEN).op(W.I32_GE_U, W.BR_IF).u32(0);
  // from - (r10 - STACK_SIZE), unsigned, at most STACK_SIZE - len: the whole source in the frame
  b.get(reg(3)).i64(STACK_SIZE, 0).op(W.I64_ADD).get(reg(10)).op(W.I64_SUB).tee(L_T);
  b.i64(STACK_SIZE, 0).get(L_TJ).op(W.I64_EXTEND_I32_U, W.I64_SUB, W.I64_GT_U, W.BR_IF).u32(0);
  // L_TI the source's linear address, L_T the destination's (stack → packet: never overlapping)
  b.get(L_FP).get(L_T).op(W.I32_WRAP_I64, W.I32_ADD).set(L_TI);
  packetData(b).get(reg(2)).op(W.I32_WRAP_I64, W.I32_ADD, W.I64_EXTEND_I32_U).set(L_T);
  moveBytes(b, true);
  b.i64(0, 0).set(reg(0));
  b.br(1).end();
  slow();
  b.end();
}
