/**
 * The one page of WebAssembly linear memory a Vm running the 'wasm' engine owns: the register file
 * (EngineState.lo / hi), the budget cell and the call frames' stacks (EngineState.allStacks) are views of
 * it, so the interpreter, the compiled JavaScript engine, helpers and Memory read and write the very
 * bytes the WebAssembly modules do. It never grows (growing would detach those views).
 */
import { MAX_CALL_FRAMES, STACK_SIZE } from '../../isa/index.js';
import { wasmApi, type WasmMemory } from './runtime.js';
import {
  MEM_ARENA,
  MEM_BUDGET,
  MEM_CLEARS,
  MEM_DEPTH,
  MEM_FRAMES,
  MEM_HI,
  MEM_LO,
  MEM_LOAD_HI,
  MEM_MAX_DEPTH,
  MEM_PAGES,
  MEM_STACKS,
  MEM_TAIL_COUNT,
  MEM_TOPS,
} from './body.js';
import { FRAME_INTS } from '../interpreter-state.js';
import type { Memory } from '../memory.js';
import type { EngineState } from '../interpreter-state.js';

/** Index of the budget cell in WasmShared.cells. */
export const BUDGET_CELL = MEM_BUDGET / 4;
/** Index of the cell a 64-bit load's high half comes back in. */
export const LOAD_HI_CELL = MEM_LOAD_HI / 4;
/** Cells of the frame depth and the deepest frame entered, while a module runs (see enterModule). */
export const DEPTH_CELL = MEM_DEPTH / 4;
export const MAX_DEPTH_CELL = MEM_MAX_DEPTH / 4;
/** First cell of the frames' r10 values (EngineState.stackTops). */
export const TOPS_CELL = MEM_TOPS / 4;
const CLEARS_CELL = MEM_CLEARS / 4;
const TAIL_COUNT_CELL = MEM_TAIL_COUNT / 4;

/** A Vm's linear memory and the views the engines share. */
export interface WasmShared {
  memory: WasmMemory;
  /** memory.buffer, kept (the getter is slow, and the buffer never changes: the memory never grows). */
  buffer: ArrayBuffer;
  /** The whole page as int32s (the budget and load cells). */
  cells: Int32Array;
  /** Register file halves (EngineState.lo / hi). */
  lo: Int32Array;
  hi: Int32Array;
  /** r0-r9 of each half as five 8-byte words (Vm's reset zeroes them so: fewer stores). */
  lo64: Float64Array;
  hi64: Float64Array;
  /** Every frame's stack bytes (EngineState.allStacks). */
  stacks: Uint8Array;
  /** The same bytes as 8-byte words (clearStacks). */
  stacks64: Float64Array;
  /** The local-call frames (EngineState.frames). */
  frames: Int32Array;
  /** Budget beyond what the i32 cell holds (huge budgets). */
  extra: number;
  /**
   * Bytes below the top of every frame entered since the stacks were last cleared that a run may have
   * written (clearStacks zeroes only those): the programs' own stack stores (compile.ts stackBytes) and
   * helpers' pointer arguments into a frame.
   */
  dirty: number;
  /** Something may have written anywhere in the stacks (an import store there, another engine ran). */
  dirtyAll: boolean;
  /** The last packet bytes syncPacket saw, and their linear offset (-1: elsewhere). */
  packetBytes: Uint8Array | undefined;
  packetLin: number;
  /** The run context and Memory.epoch the map table was written for (map-lookup.ts). */
  mapsFor: unknown;
  mapsEpoch: number;
  /** Memory.epoch / resizes when the region table was last written (regions.ts). */
  epoch: number;
  resizes: number;
  /** The table of program functions and the prog array / skb packet mirrors (tail-call.ts TailState). */
  tail: unknown;
}

/**
 * Zero what the last run may have written of the stacks (Vm.run's fresh, zeroed stacks) — usually a few
 * bytes at the top of frame 0 instead of all eight frames' 4 KiB, which would cost more than most runs.
 * `maxDepth` is the deepest frame the last run entered.
 */
export function clearStacks(w: WasmShared, maxDepth: number): void {
  // (and what the module's skb_load_bytes copies and tail-call targets reached: tail-call.ts)
  const n = Math.max(w.dirty, w.cells[CLEARS_CELL] as number);
  w.cells[CLEARS_CELL] = 0;
  if (w.dirtyAll) w.stacks.fill(0);
  else if (n > 0) {
    const s = w.stacks;
    const s64 = w.stacks64;
    // a run that faulted inside a local call left its deepest frame only in the module's cell
    const deepest = Math.max(maxDepth, w.cells[MAX_DEPTH_CELL] as number);
    // (whole 8-byte words when n is a multiple of 8, as frame tops are: +0.0 is eight zero bytes, and
    // a loop of such stores costs about half what fill() does on the ~150 bytes of a filter's stack)
    const words = (n & 7) === 0 && n <= STACK_SIZE;
    for (let d = 0, top = STACK_SIZE; d <= deepest; d++, top += STACK_SIZE) {
      if (words) for (let i = (top - n) >> 3, e = top >> 3; i < e; i++) s64[i] = 0;
      else if (n > 64) s.fill(0, top - n, top);
      else for (let i = top - n; i < top; i++) s[i] = 0; // (cheaper than fill() on a few bytes)
    }
  }
  w.dirty = 0;
  w.dirtyAll = false;
}

/**
 * A new Vm's linear memory and its views (undefined without WebAssembly: the engine then runs the JIT).
 * The Vm's `memory` allocates its reusable buffers in it from then on (a bump allocator: what does not
 * fit any more is an ordinary array, which the modules reach through the imports instead).
 */
export function createWasmShared(vmMemory: Memory): WasmShared | undefined {
  if (wasmApi === undefined) return undefined;
  const memory = new wasmApi.Memory({ initial: MEM_PAGES, maximum: MEM_PAGES });
  const buf = memory.buffer;
  let next = MEM_ARENA;
  vmMemory.allocate = (size: number): Uint8Array => {
    if (next + size > buf.byteLength) return new Uint8Array(size);
    const bytes = new Uint8Array(buf, next, size);
    next += (size + 7) & ~7;
    return bytes;
  };
  return {
    memory,
    buffer: buf,
    cells: new Int32Array(buf),
    lo: new Int32Array(buf, MEM_LO, 11),
    hi: new Int32Array(buf, MEM_HI, 11),
    lo64: new Float64Array(buf, MEM_LO, 5),
    hi64: new Float64Array(buf, MEM_HI, 5),
    stacks: new Uint8Array(buf, MEM_STACKS, MAX_CALL_FRAMES * STACK_SIZE),
    stacks64: new Float64Array(buf, MEM_STACKS, (MAX_CALL_FRAMES * STACK_SIZE) / 8),
    frames: new Int32Array(buf, MEM_FRAMES, MAX_CALL_FRAMES * FRAME_INTS),
    extra: 0,
    dirty: 0,
    dirtyAll: false,
    packetBytes: undefined,
    packetLin: -1,
    mapsFor: undefined,
    mapsEpoch: -1,
    epoch: -1,
    resizes: -1,
    tail: undefined,
  };
}

/**
 * Before the module runs (or a helper it called returns to it): the frame depth and the frames' r10
 * values where its local calls find them. The module keeps the depth cell up to date as it calls and
 * returns; leaveModule hands it back.
 */
export function enterModule(st: EngineState, w: WasmShared): void {
  const c = w.cells;
  c[DEPTH_CELL] = st.depth;
  c[MAX_DEPTH_CELL] = st.maxDepth;
  c[TAIL_COUNT_CELL] = st.call.tailCalls;
  if (c[TOPS_CELL] !== st.stackTops[0]) c.set(st.stackTops, TOPS_CELL);
}

/** After the module returned (or called a helper): the depth it is at and the deepest frame it entered. */
export function leaveModule(st: EngineState, w: WasmShared): void {
  st.depth = w.cells[DEPTH_CELL] as number;
  st.maxDepth = w.cells[MAX_DEPTH_CELL] as number;
  st.call.tailCalls = w.cells[TAIL_COUNT_CELL] as number;
}
