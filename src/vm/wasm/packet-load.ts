/**
 * LD_ABS/LD_IND in WebAssembly: the module's function (pc, size, offset) -> i64 reads the run's packet
 * from linear memory with loadPacket's rules (interpreter-ops.ts) — offsets from data, SKF_NET_OFF ones
 * from the network header, SKF_LL_OFF ones from the MAC header, big-endian, -1 when the bytes are not all
 * inside the packet — from the mirror regions.ts keeps at MEM_PACKET. When the packet's bytes are not in
 * linear memory (an in-place run over a capture buffer, plain-memory runs) it calls the import instead.
 */
import { SKF_LL_OFF, SKF_NET_OFF } from '../interpreter-ops.js';
import { Body, Import, MEM_PACKET } from './body.js';
import * as W from './opcodes.js';

/** Locals beyond the (pc, size, offset) parameters: at (i64), lin (i32). */
export const LOAD_PACKET_LOCALS = [
  { count: 1, type: W.I64 },
  { count: 1, type: W.I32 },
] as const;

const PC = 0;
const SIZE = 1;
const OFF = 2;
const AT = 3;
const LIN = 4;

/** The function's body. */
export function loadPacketBody(): Uint8Array {
  const b = new Body();
  const field = (i: number): Body => b.i32(0).mem(W.I64_LOAD32_S, 2, MEM_PACKET + 4 * i);
  b.i32(0).mem(W.I32_LOAD, 2, MEM_PACKET).tee(LIN).i32(0).op(W.I32_LT_S).if();
  b.get(PC).get(SIZE).get(OFF).call(Import.Packet).op(W.I64_TRUNC_F64_S, W.RETURN);
  b.end();
  // at, by the offset's base
  b.get(OFF).i32(0).op(W.I32_GE_S).if64();
  field(1).get(OFF).op(W.I64_EXTEND_I32_S, W.I64_ADD);
  b.else().get(OFF).i32(SKF_NET_OFF).op(W.I32_GE_S).if64();
  field(4).get(OFF).op(W.I64_EXTEND_I32_S).i64(SKF_NET_OFF, -1).op(W.I64_SUB, W.I64_ADD);
  b.else().get(OFF).i32(SKF_LL_OFF).op(W.I32_LT_S).if().i64(-1, -1).op(W.RETURN).end();
  field(3).get(OFF).op(W.I64_EXTEND_I32_S).i64(SKF_LL_OFF, -1).op(W.I64_SUB, W.I64_ADD);
  b.end().end().set(AT);
  // inside the packet: at >= 0, at + size <= end and <= the buffer's length
  b.get(AT).i64(0, 0).op(W.I64_LT_S);
  b.get(AT).get(SIZE).op(W.I64_EXTEND_I32_U, W.I64_ADD);
  field(2).op(W.I64_GT_S, W.I32_OR);
  b.get(AT).get(SIZE).op(W.I64_EXTEND_I32_U, W.I64_ADD);
  field(5).op(W.I64_GT_S, W.I32_OR);
  b.if().i64(-1, -1).op(W.RETURN).end();
  b.get(LIN).get(AT).op(W.I32_WRAP_I64, W.I32_ADD).set(LIN);
  // big-endian, zero-extended
  b.get(SIZE).i32(1).op(W.I32_EQ).if();
  b.get(LIN).mem(W.I64_LOAD8_U, 0, 0).op(W.RETURN);
  b.end();
  b.get(SIZE).i32(2).op(W.I32_EQ).if();
  b.get(LIN).mem(W.I32_LOAD16_U, 0, 0).set(LIN);
  b.get(LIN).i32(8).op(W.I32_SHR_U).get(LIN).i32(8).op(W.I32_SHL, W.I32_OR).i32(0xffff).op(W.I32_AND);
  b.op(W.I64_EXTEND_I32_U, W.RETURN);
  b.end();
  b.get(LIN).mem(W.I32_LOAD, 0, 0).bswap32(LIN);
  return b.op(W.I64_EXTEND_I32_U).end().bytes();
}
