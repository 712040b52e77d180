/**
 * bpf_map_lookup_elem on an array map, in WebAssembly: the map table (MEM_MAPS, by handle) lists the
 * plain arrays (one value per key) whose value slab lives in linear memory, and a lookup whose r1 is one
 * of them and whose key lies in the current frame computes the value pointer here — the slab address of
 * element `key` with the element's tag in the upper half, exactly what the helper's retPtr gives, or NULL
 * past max_entries. Hash and LRU hash maps placed in linear memory are looked up by the module's own
 * function (hash-lookup.ts). Any other lookup (per-CPU maps, a key elsewhere, a bad r1) calls the
 * helper, which checks and faults as on the other engines. Array lookups write nothing and charge nothing.
 */
import type { RunContext } from '../contexts/run-context.js';
import { ArrayMap } from '../maps/array.js';
import type { Memory } from '../memory.js';
import { MapType } from '../../uapi/types.js';
import { STACK_SIZE } from '../../isa/index.js';
import { Body, L_FP, L_T, L_TI, MEM_MAPS, MAP_SLOTS, MAP_BYTES, reg } from './body.js';
import type { WasmShared } from './shared.js';
import { emitHashLookup, writeHashEntry } from './hash-lookup.js';
import * as W from './opcodes.js';

/** The helper's number. */
export const MAP_LOOKUP_ELEM = 1;

/** Rewrite the map table for the run context `rc` (the collection's maps) if it is not the one written. */
export function syncMaps(rc: RunContext | undefined, M: Memory, w: WasmShared): void {
  if (rc === w.mapsFor && M.epoch === w.mapsEpoch) return;
  w.mapsFor = rc;
  w.mapsEpoch = M.epoch;
  const cells = w.cells;
  // (a Vm used on its own may carry any helper context, or none)
  const maps = rc?.maps;
  const bases = rc?.mapBase;
  const known = Array.isArray(maps) && Array.isArray(bases);
  for (let h = 0; h < MAP_SLOTS; h++) {
    const c = (MEM_MAPS + h * MAP_BYTES) >> 2;
    cells[c] = 0;
    if (!known) continue;
    const m = maps[h];
    const base = bases[h];
    if (base === undefined) continue;
    if (writeHashEntry(cells, c, m, base, M, w.buffer)) continue;
    if (!(m instanceof ArrayMap) || m.type !== MapType.ARRAY || m.valuesPerKey !== 1) continue;
    if (m.slab === undefined || m.slab.buffer !== w.buffer) continue;
    cells[c] = 1;
    cells[c + 1] = m.maxEntries;
    cells[c + 2] = base;
    cells[c + 3] = M.tagOf(base);
    cells[c + 4] = m.stride;
  }
}

/**
 * Emit the inline lookup; `slow` emits the helper call. Leaves r0 set on the inline path.
 */
export function emitMapLookup(b: Body, slow: () => void): void {
  const field = (i: number): Body => b.get(L_TI).mem(W.I64_LOAD32_U, 2, MEM_MAPS + 4 * i);
  b.op(W.BLOCK, W.VOID).op(W.BLOCK, W.VOID);
  // r1: a listed array's handle
  b.get(reg(1)).i64(MAP_SLOTS, 0).op(W.I64_GE_U).op(W.BR_IF).u32(0);
  b.get(reg(1)).op(W.I32_WRAP_I64).i32(Math.log2(MAP_BYTES)).op(W.I32_SHL).tee(L_TI);
  b.mem(W.I32_LOAD, 2, MEM_MAPS).i32(1).op(W.I32_NE, W.BR_IF).u32(0);
  // r2: four key bytes inside the current frame
  b.get(reg(2)).i64(STACK_SIZE, 0).op(W.I64_ADD).get(reg(10)).op(W.I64_SUB).tee(L_T);
  b.i64(STACK_SIZE - 4 + 1, 0)
    .op(W.I64_GE_U, W.BR_IF)
    .u32(0);
  b.get(L_FP).get(L_T).op(W.I32_WRAP_I64, W.I32_ADD).mem(W.I64_LOAD32_U, 2, 0).tee(L_T);
  field(1).op(W.I64_LT_U).if64();
  field(3).get(L_T).op(W.I64_ADD).i64(32, 0).op(W.I64_SHL);
  field(2).get(L_T);
  field(4).op(W.I64_MUL, W.I64_ADD, W.I64_OR);
  b.else().i64(0, 0).end().set(reg(0));
  b.op(W.BR).u32(1);
  b.end();
  emitHashLookup(b, slow);
  b.end();
}
