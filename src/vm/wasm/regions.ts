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
  const buf = w.memory.buffer;
  let k = 0;
  for (const r of M.regions) {
    if (k === REGION_SLOTS) break;
    const b = r.bytes;
    if (r.index === 0 || r.stride !== 0 || b.buffer !== buf) continue;
    // (frames: the current one has its own fast path; the others are rare)
    if (b.byteOffset >= MEM_STACKS && b.byteOffset < MEM_STACKS_END) continue;
    const c = (MEM_REGIONS + k * REGION_BYTES) >> 2;
    cells[c] = r.base;
    cells[c + 1] = r.size;
    cells[c + 2] = r.writable ? r.size : 0;
    cells[c + 3] = b.byteOffset;
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
  if (pk === undefined || pk.bytes.buffer !== w.memory.buffer) {
    cells[c] = -1;
    return;
  }
  cells[c] = pk.bytes.byteOffset;
  cells[c + 1] = pk.data;
  cells[c + 2] = pk.end;
  cells[c + 3] = pk.mac;
  cells[c + 4] = pk.net;
  cells[c + 5] = pk.bytes.length;
}

/** Locals of the resolve functions beyond their (address, size) parameters: u, limit. */
export const RESOLVE_LOCALS = [{ count: 2, type: W.I64 }] as const;

/**
 * Body of (address i64, size i64) -> i32: the linear offset of `size` bytes at `address` when they lie in
 * one table region (writable, for `write`), else -1.
 */
export function resolveBody(write: boolean): Uint8Array {
  const A = 0;
  const N = 1;
  const U = 2;
  const LIM = 3;
  const b = new Body();
  for (let k = 0; k < REGION_SLOTS; k++) {
    const slot = MEM_REGIONS + k * REGION_BYTES;
    b.get(A).i32(0).mem(W.I64_LOAD32_U, 2, slot).op(W.I64_SUB).tee(U);
    b.i32(0)
      .mem(W.I64_LOAD32_U, 2, slot + (write ? 8 : 4))
      .tee(LIM)
      .op(W.I64_LT_U);
    b.get(U).get(N).op(W.I64_ADD).get(LIM).op(W.I64_LE_U, W.I32_AND).if();
    b.get(U)
      .op(W.I32_WRAP_I64)
      .i32(0)
      .mem(W.I32_LOAD, 2, slot + 12)
      .op(W.I32_ADD, W.RETURN);
    b.end();
  }
  return b.i32(-1).end().bytes();
}
