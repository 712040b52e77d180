/**
 * The region table: the regions whose bytes live in the Vm's linear memory (the packet buffer, the
 * contexts and the map value slabs Memory.allocate placed there), mirrored where the module reads them,
 * so a load or store through a context, packet or map value pointer is checked and made in WebAssembly.
 *
 * Each slot describes its region as elements (a plain region is one element, tag 0), in the form one
 * check needs, whatever the pointer: with k = (pointer >> 32) - tagBase and
 * e = pointer + offset - k * M - B (M = 2^32 + stride, B = tagBase * 2^32 + base), an access of `size`
 * bytes lies inside element k, and element k inside the region's current size, exactly when
 * k < count and e < room[size] (unsigned), where count is the number of elements wholly inside the size
 * and room[size] = extent - size + 1 (a plain region: size - size + 1; 0 when it does not fit, and for
 * writes 0 in a read-only region). Its linear offset is then the pointer's low half + offset + D.
 *
 * Exactness: only plain regions and regions of equal elements are listed (records, whose bounds their
 * callback decides, are not), and the check accepts an access only when Memory would accept it through
 * the same pointer — untagged pointers reach plain regions only, a tagged one only the element its tag
 * names, within its extent (an element the region's current size cuts short is left to the imports).
 * The table is rewritten whenever Memory's layout changed (its epoch or resizes counters moved): at
 * every entry into a module and after every helper, so what it says is always current and any slot may
 * be tried for any access — the compiled code tries the one that served the same instruction last
 * (emit-memory.ts), and the resolve functions try them all.
 */
import type { Memory } from '../memory.js';
import { Body, MEM_PACKET, MEM_REGIONS, MEM_STACKS, MEM_STACKS_END, REGION_BYTES, REGION_SLOTS } from './body.js';
import type { WasmShared } from './shared.js';
import type { LdAbsPacket } from '../interpreter-state.js';
import * as W from './opcodes.js';

/** Byte offsets of a slot's fields: B and M (i64), tagBase, count, D (i32). */
export const SLOT_B = 0;
export const SLOT_M = 8;
export const SLOT_TAG = 16;
export const SLOT_COUNT = 20;
export const SLOT_D = 24;
/** room[size] for reads and for writes: four i32s each, for sizes 1, 2, 4, 8. */
export const SLOT_ROOM_READ = 32;
export const SLOT_ROOM_WRITE = 48;
if (SLOT_ROOM_WRITE + 16 > REGION_BYTES) throw new Error('internal: the region slot overflows');

/** The module's global the resolve functions leave the slot they found in (its byte offset). */
export const G_FOUND_SLOT = 0;

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
    const elements = r.tagBase !== 0;
    // a plain region: one element of the region's size
    const extent = elements ? r.extent : r.size;
    const stride = elements ? r.stride : 0;
    cells[c + SLOT_B / 4] = r.base;
    cells[c + SLOT_B / 4 + 1] = r.tagBase;
    cells[c + SLOT_M / 4] = stride;
    cells[c + SLOT_M / 4 + 1] = elements ? 1 : 0;
    cells[c + SLOT_TAG / 4] = r.tagBase;
    cells[c + SLOT_COUNT / 4] = r.size < extent ? 0 : elements ? Math.floor((r.size - extent) / r.stride) + 1 : 1;
    cells[c + SLOT_D / 4] = (b.byteOffset - r.base) | 0;
    for (let i = 0; i < 4; i++) {
      const room = Math.max(0, extent - (1 << i) + 1);
      cells[c + SLOT_ROOM_READ / 4 + i] = room;
      cells[c + SLOT_ROOM_WRITE / 4 + i] = r.writable ? room : 0;
    }
    k++;
  }
  for (; k < REGION_SLOTS; k++) cells[((MEM_REGIONS + k * REGION_BYTES) >> 2) + SLOT_COUNT / 4] = 0;
}

/**
 * Byte offsets past MEM_PACKET of what the compiled LD_ABS/LD_IND read (emit-memory.ts): the linear
 * offset of the packet's data, and for sizes 1, 2 and 4 the room — how many non-negative offsets from
 * data a load of that size may take (0 whenever the bytes are not in linear memory or data is negative,
 * so every load goes to loadPacket's function).
 */
export const PACKET_LIN_DATA = 24;
export const PACKET_ROOM = 28;

/** Mirror the run's LD_ABS/LD_IND packet (offset -1 when its bytes are not in linear memory). */
export function syncPacket(pk: LdAbsPacket | undefined, w: WasmShared): void {
  const c = MEM_PACKET >> 2;
  const cells = w.cells;
  const room = c + PACKET_ROOM / 4;
  if (pk === undefined) {
    cells[c] = -1;
    cells[room] = cells[room + 1] = cells[room + 2] = 0;
    return;
  }
  const bytes = pk.bytes;
  if (bytes !== w.packetBytes) {
    // (asking an array for its buffer is slow: once per array)
    w.packetBytes = bytes;
    w.packetLin = bytes.buffer === w.buffer ? bytes.byteOffset : -1;
  }
  const lin = w.packetLin;
  cells[c] = lin;
  if (lin < 0 || pk.data < 0) {
    cells[room] = cells[room + 1] = cells[room + 2] = 0;
    if (lin < 0) return;
  } else {
    // loadPacket's bounds for an offset >= 0: data + offset + size <= end and <= the buffer's length
    const limit = Math.min(pk.end, bytes.length) - pk.data;
    cells[room] = Math.max(0, limit);
    cells[room + 1] = Math.max(0, limit - 1);
    cells[room + 2] = Math.max(0, limit - 3);
    cells[c + PACKET_LIN_DATA / 4] = lin + pk.data;
  }
  cells[c + 1] = pk.data;
  cells[c + 2] = pk.end;
  cells[c + 3] = pk.mac;
  cells[c + 4] = pk.net;
  cells[c + 5] = pk.bytes.length;
}

/** Locals of the resolve functions beyond their (pointer, offset, size) parameters: k, room (i32). */
export const RESOLVE_LOCALS = [
  { count: 1, type: W.I64 },
  { count: 1, type: W.I32 },
] as const;

/**
 * Push whether `size` bytes at `pointer` + `offset` lie in the slot at byte offset `slot` (a constant,
 * or with `slotLocal` a local holding it, added to the constant): the check of the file comment.
 * `pointer` and `offset` push i64s, `room` the i64 room for the access (its size, read or write); `k`
 * is an i64 scratch local.
 */
export function slotCheck(
  b: Body,
  slot: number,
  slotLocal: number,
  k: number,
  pointer: () => void,
  offset: () => void,
  room: () => void,
): void {
  const field = (op: number, align: number, at: number): Body => {
    if (slotLocal < 0) b.i32(0);
    else b.get(slotLocal);
    return b.mem(op, align, slot + at);
  };
  pointer();
  b.i64(32, 0).op(W.I64_SHR_U);
  field(W.I64_LOAD32_U, 2, SLOT_TAG).op(W.I64_SUB).tee(k);
  field(W.I64_LOAD32_U, 2, SLOT_COUNT).op(W.I64_LT_U);
  pointer();
  offset();
  b.op(W.I64_ADD).get(k);
  field(W.I64_LOAD, 3, SLOT_M).op(W.I64_MUL, W.I64_SUB);
  field(W.I64_LOAD, 3, SLOT_B).op(W.I64_SUB);
  room();
  b.op(W.I64_LT_U, W.I32_AND);
}

/**
 * Body of (pointer i64, offset i64, size i64) -> i32: the linear offset of `size` bytes at pointer +
 * offset when some slot's check accepts them (for a write, `write`), else -1; the slot is left in the
 * global G_FOUND_SLOT.
 */
export function resolveBody(write: boolean): Uint8Array {
  const P = 0;
  const OFF = 1;
  const N = 2;
  const K = 3;
  const ROOM = 4;
  const b = new Body();
  // the room field's offset in a slot, by size: 4 * log2(size)
  b.get(N).op(W.I64_CTZ, W.I32_WRAP_I64).i32(2).op(W.I32_SHL).set(ROOM);
  for (let s = 0; s < REGION_SLOTS; s++) {
    const slot = MEM_REGIONS + s * REGION_BYTES;
    slotCheck(
      b,
      slot,
      -1,
      K,
      () => b.get(P),
      () => b.get(OFF),
      () => b.get(ROOM).mem(W.I64_LOAD32_U, 2, slot + (write ? SLOT_ROOM_WRITE : SLOT_ROOM_READ)),
    );
    b.if();
    b.i32(slot).u8(W.GLOBAL_SET).u32(G_FOUND_SLOT);
    b.get(P).op(W.I32_WRAP_I64).get(OFF).op(W.I32_WRAP_I64, W.I32_ADD);
    b.i32(0)
      .mem(W.I32_LOAD, 2, slot + SLOT_D)
      .op(W.I32_ADD, W.RETURN);
    b.end();
  }
  return b.i32(-1).end().bytes();
}
