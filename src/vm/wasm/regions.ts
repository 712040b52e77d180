/**
 * The region table: the regions whose bytes live in the Vm's linear memory (the packet buffer and the
 * contexts, which Memory.allocate placed there), mirrored where the module reads them, so a load or store
 * through a context or packet pointer is checked and made in WebAssembly.
 *
 * Exactness: only plain regions are listed (no elements, no records: those need their pointer's tag), and
 * an access is taken only when all its bytes lie inside the region's current size (and, for a store, the
 * region is writable) — exactly when Memory would accept it through an untagged pointer. Any pointer
 * with a non-zero upper half (a tag, or garbage) lands at least 4 GiB away, outside every listed region,
 * and falls through to the imports, which fault as the interpreter does. The table is rewritten whenever
 * Memory's layout changed (its epoch or resizes counters moved): at every entry into a module and after
 * every helper.
 */
import type { Memory } from '../memory.js';
import { Body, MEM_PACKET, MEM_REGIONS, MEM_STACKS, MEM_STACKS_END, REGION_BYTES, REGION_SLOTS } from './body.js';
import type { WasmShared } from './shared.js';
import type { LdAbsPacket } from '../interpreter-state.js';
import * as W from './opcodes.js';

/** Rewrite the region table if Memory's layout changed since it was written. */
export function syncRegions(M: Memory, w: WasmShared): void {
  if (M.epoch === w.epoch && M.resizes === w.resizes) return;
  w.epoch = M.epoch;
  w.resizes = M.resizes;
  const cells = w.cells;
  const buf = w.buffer;
  let k = 0;
  for (const r of M.regions) {
    if (k === REGION_SLOTS) break;
    const b = r.bytes;
    // (records of varying size, ring-buffer ones, are decided by their region's callback)
    if (r.index === 0 || r.stride < 0 || b.buffer !== buf) continue;
    // (frames: the current one has its own fast path; the others are rare)
    if (b.byteOffset >= MEM_STACKS && b.byteOffset < MEM_STACKS_END) continue;
    const c = (MEM_REGIONS + k * REGION_BYTES) >> 2;
    cells[c] = r.base;
    cells[c + 1] = r.size;
    cells[c + 2] = r.writable ? r.size : 0;
    cells[c + 3] = b.byteOffset;
    cells[c + 4] = r.tagBase;
    cells[c + 5] = r.stride;
    cells[c + 6] = r.extent;
    k++;
  }
  for (; k < REGION_SLOTS; k++) {
    const c = (MEM_REGIONS + k * REGION_BYTES) >> 2;
    cells[c + 1] = cells[c + 2] = 0;
  }
}

/** Mirror the run's LD_ABS/LD_IND packet (offset -1 when its bytes are not in linear memory). */
export function syncPacket(pk: LdAbsPacket | undefined, w: WasmShared): void {
  const c = MEM_PACKET >> 2;
  const cells = w.cells;
  if (pk === undefined) {
    cells[c] = -1;
    return;
  }
  const bytes = pk.bytes;
  if (bytes !== w.packetBytes) {
    // (asking an array for its buffer is slow: once per array)
    w.packetBytes = bytes;
    w.packetLin = bytes.buffer === w.buffer ? bytes.byteOffset : -1;
  }
  cells[c] = w.packetLin;
  if (w.packetLin < 0) return;
  cells[c + 1] = pk.data;
  cells[c + 2] = pk.end;
  cells[c + 3] = pk.mac;
  cells[c + 4] = pk.net;
  cells[c + 5] = pk.bytes.length;
}

/** Locals of the resolve functions beyond their (pointer, offset, size) parameters: u, limit, hi, start. */
export const RESOLVE_LOCALS = [{ count: 4, type: W.I64 }] as const;

/**
 * Body of (pointer i64, offset i64, size i64) -> i32: the linear offset of `size` bytes at the pointer's
 * low half + offset when they lie in one table region (writable, for `write`) and the pointer may reach
 * them, else -1. Memory's rules: an untagged pointer (upper half 0) reaches plain regions only; a tagged
 * one (upper half 1..2^31-1) only the element its tag names, within the element's extent.
 */
export function resolveBody(write: boolean): Uint8Array {
  const P = 0;
  const OFF = 1;
  const N = 2;
  const U = 3;
  const LIM = 4;
  const HI = 5;
  const START = 6;
  const b = new Body();
  b.get(P).i64(32, 0).op(W.I64_SHR_U).set(HI);
  for (let k = 0; k < REGION_SLOTS; k++) {
    const slot = MEM_REGIONS + k * REGION_BYTES;
    const field = (i: number, op = W.I64_LOAD32_U): Body => b.i32(0).mem(op, 2, slot + 4 * i);
    // u = low half + offset - base, inside [0, limit - size]
    b.get(P).i64(-1, 0).op(W.I64_AND).get(OFF).op(W.I64_ADD);
    field(0).op(W.I64_SUB).tee(U);
    field(write ? 2 : 1)
      .tee(LIM)
      .op(W.I64_LT_U);
    b.get(U).get(N).op(W.I64_ADD).get(LIM).op(W.I64_LE_U, W.I32_AND).if();
    field(4).op(W.I64_EQZ).if();
    // a plain region: untagged pointers only
    b.get(HI).op(W.I64_EQZ).if();
    b.get(U)
      .op(W.I32_WRAP_I64)
      .i32(0)
      .mem(W.I32_LOAD, 2, slot + 12)
      .op(W.I32_ADD, W.RETURN);
    b.end();
    b.else();
    // elements: start = (tag - tagBase) * stride; start <= u, u + size <= start + extent
    b.get(HI).i64(1, 0).op(W.I64_SUB).i64(0x7fffffff, 0).op(W.I64_LT_U);
    b.get(HI);
    field(4).op(W.I64_SUB);
    field(5).op(W.I64_MUL).tee(START).i64(0, 0).op(W.I64_GE_S, W.I32_AND);
    b.get(START).get(U).op(W.I64_LE_S, W.I32_AND);
    b.get(U).get(N).op(W.I64_ADD).get(START);
    field(6).op(W.I64_ADD, W.I64_LE_S, W.I32_AND).if();
    b.get(U)
      .op(W.I32_WRAP_I64)
      .i32(0)
      .mem(W.I32_LOAD, 2, slot + 12)
      .op(W.I32_ADD, W.RETURN);
    b.end();
    b.end();
    b.end();
  }
  return b.i32(-1).end().bytes();
}
