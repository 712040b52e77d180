/**
 * The 'wasm' engine: runs a program as the WebAssembly module compile.ts writes for it, compiled and
 * instantiated once per loaded program (cached on it), with the VM's register file and call-frame
 * stacks in the Vm's one page of linear memory (shared.ts), so helpers, Memory and the other engines see
 * the same bytes.
 *
 * The module makes local calls itself (frames in linear memory, where EngineState.frames is a view of
 * them); it returns to this loop for what JavaScript does: popping a frame the module did not push (a
 * callback's, or one entered before a tail call), tail calls, the end of the run, and blocks the
 * budget cannot pay for in full (those, and any entry at a pc that starts no block, continue on the
 * interpreter, exactly). Loads and stores outside the current frame, helpers, LD_ABS/LD_IND and atomics
 * are the module's imports, calling the same Memory methods and out-of-line operations as the
 * interpreter, so they fault with the same VmError.
 *
 * A program compile.ts refuses (too large) or that the WebAssembly engine cannot compile runs on the
 * compiled JavaScript engine instead, which gives the same results; `wasmStatus` says which.
 */
import { BPF_CALL, BPF_JMP, MAX_CALL_FRAMES, STACK_SIZE } from '../../isa/index.js';
import { DONE, SWITCH, type EngineState } from '../interpreter-state.js';
import type { LoadedProgram } from '../interpreter-program.js';
import { interpret } from '../interpreter-switch.js';
import { compiledEngine } from '../interpreter-jit.js';
import {
  atomic,
  callDepthError,
  callHelper,
  callxError,
  fallThroughError,
  loadPacket,
  popFrame,
} from '../interpreter-ops.js';
import { Exit, MEM_CLEARS, MEM_CURRENT, MEM_STACKS, MEM_TAIL_COUNT, MEM_TAIL_PENDING } from './body.js';
import { IMPORT_NAMES } from './compile.js';
import { compileCached } from './module-cache.js';
import { vmHost } from '../host-environment.js';
import { BUDGET_CELL, LOAD_HI_CELL, enterModule, leaveModule, type WasmShared } from './shared.js';
import { wasmApi } from './runtime.js';
import { syncPacket, syncRegions } from './regions.js';
import { syncMaps } from './map-lookup.js';
import { quickImport } from './quick-helpers.js';
import { MEM_PENDING, MEM_TOUCHED, writeRepeatStart } from './repeat-loop.js';
import { nameTarget, registerProgram, syncTails, tailState, TAIL_CALL } from './tail-call.js';
import { loadBytesReach, syncSkb } from './skb-load-bytes.js';
import { wasmStackBytes } from './compile.js';
import type { RunContext } from '../contexts/run-context.js';

/** A program's instance: its run function and the block number of each pc. */
export interface Instance {
  run: (block: number, frame: number) => number;
  /** repeat(n, frame): runs from the start, one after another (repeat-loop.ts). */
  repeat: (n: number, frame: number) => number;
  blockOf: Int32Array;
  /** Bytes below a frame's top its own stores may write (WasmProgram.stackBytes). */
  stackBytes: number;
  /** The compiled module and its imports (packet-batch.ts instantiates it again). */
  module: object;
  env: Record<string, unknown>;
  /** packet-batch.ts's own instance, once made. */
  batch?: unknown;
  /**
   * The program has a bpf_tail_call site, the only code of a module that reads the tail-call directory
   * and mirrors (tail-call.ts): without one, entering the module need not bring them up to date.
   */
  tails: boolean;
}

/** What a program's `wasm` slot holds once the engine looked at it. */
interface Slot {
  instance: Instance | undefined;
  /** Why the program runs on the JavaScript engine instead, when it does. */
  refusal: string | undefined;
}

const CALL = BPF_JMP | BPF_CALL;
const TOUCHED_CELL = MEM_TOUCHED / 4;
const PENDING_CELL = MEM_PENDING / 4;
const CLEARS_CELL = MEM_CLEARS / 4;
const CURRENT_CELL = MEM_CURRENT / 4;
const TAIL_COUNT_CELL = MEM_TAIL_COUNT / 4;
const TAIL_PENDING_CELL = MEM_TAIL_PENDING / 4;

/** Largest budget handed to WebAssembly at once (an i32 there); the rest waits in WasmShared.extra. */
const BUDGET_CAP = 0x3fff_ffff;

/** Give the module the run's budget. */
function putBudget(st: EngineState, w: WasmShared): void {
  const b = st.budget;
  const c = b > BUDGET_CAP ? BUDGET_CAP : b;
  w.cells[BUDGET_CELL] = c;
  w.extra = b - c;
}

/** Take back what the module left of it. */
function takeBudget(st: EngineState, w: WasmShared): void {
  st.budget = (w.cells[BUDGET_CELL] as number) + w.extra;
}

/** The engine: (state, program, start pc) => DONE | SWITCH, like the interpreter and the JIT. */
export function wasmEngine(st: EngineState, p: LoadedProgram, startPc: number): number {
  const w = st.wasm;
  if (w === undefined) return compiledEngine(st, p, startPc);
  let slot = p.wasm as Slot | undefined;
  if (slot === undefined) slot = p.wasm = prepare(st, w, p);
  const c = slot.instance;
  if (c === undefined) {
    w.dirtyAll = true; // (the other engines' stores are not tracked)
    return compiledEngine(st, p, startPc);
  }
  enter(st, w, c);
  // (a result the module returned for this program after a tail call into it: see drive)
  const pending = (w.cells[TAIL_PENDING_CELL] as number) - 1;
  if (pending >= 0) w.cells[TAIL_PENDING_CELL] = 0;
  return drive(st, w, c, p, startPc, pending);
}

/** What every entry into a module needs: the stack bytes it may write noted, the tables current. */
export function enter(st: EngineState, w: WasmShared, c: Instance): void {
  const cells = w.cells;
  const clears = Math.max(w.dirty, c.stackBytes, cells[CLEARS_CELL] as number);
  w.dirty = cells[CLEARS_CELL] = clears;
  const M = st.mem;
  const rc = st.call.context as RunContext | undefined;
  // (the guards syncRegions and syncMaps begin with, here: a run of the same program on the next
  // packet, with no region mapped or resized and the same run context, skips both calls)
  if (M.epoch !== w.epoch || M.resizes !== w.resizes) syncRegions(M, w);
  syncPacket(st.packet, w);
  if (rc !== w.mapsFor || M.epoch !== w.mapsEpoch) syncMaps(rc, M, w);
  // (a program without a tail-call site never reads the directory; its mirrors are compared with their
  // prog arrays, and rebuilt for another context, at the next entry of a program that has one)
  if (c.tails) syncTails(st, w, tailState(w), targetStack);
  syncSkb(rc, st.packet, st.helpers, cells);
}

/** The tables of the inline tail call and packet helpers (after every helper, too: either may change them). */
function syncInline(st: EngineState, w: WasmShared): void {
  syncTails(st, w, tailState(w), targetStack);
  syncSkb(st.call.context as RunContext | undefined, st.packet, st.helpers, w.cells);
}

/** A tail-call target's stack bytes when it runs as WebAssembly (compiled on first use), else undefined. */
function targetStack(st: EngineState, w: WasmShared, p: LoadedProgram): number | undefined {
  let slot = p.wasm as Slot | undefined;
  if (slot === undefined) slot = p.wasm = prepare(st, w, p);
  return slot.instance?.stackBytes;
}

/**
 * Run `p` from `startPc` until the run ends (DONE) or moves to another program (SWITCH). `first`, when
 * not -1, is a result the module already returned at the current state (the repeat loop's pending run).
 */
function drive(st: EngineState, w: WasmShared, c: Instance, p: LoadedProgram, startPc: number, first: number): number {
  const L = st.lo;
  const H = st.hi;
  let pc = startPc;
  let r = first;
  for (;;) {
    if (r < 0) {
      const block = c.blockOf[pc] as number;
      // the module's frame fast path needs r10 = the current frame's top (always so; checked, not assumed)
      if (block < 0 || L[10] !== st.stackTops[st.depth] || H[10] !== 0) {
        w.dirtyAll = true;
        return interpret(st, p, pc);
      }
      putBudget(st, w);
      enterModule(st, w);
      try {
        r = c.run(block, MEM_STACKS + st.depth * STACK_SIZE);
      } catch (err) {
        throw nameTarget(err, st, w, p);
      }
      leaveModule(st, w);
      takeBudget(st, w);
    }
    const at = r >> 3;
    const why = r & 7;
    // A result at a pc of the program a tail call in the module switched to is that program's to
    // handle: JavaScript's loop switches to it (so faults name it), and its engine call takes the result.
    if (
      (why === Exit.Bail ||
        why === Exit.CallDepth ||
        why === Exit.FallThrough ||
        (why === Exit.Exit && st.depth !== 0)) &&
      (w.cells[CURRENT_CELL] as number) !== p.id
    ) {
      w.cells[TAIL_PENDING_CELL] = r + 1;
      st.next = st.programs[w.cells[CURRENT_CELL] as number];
      st.pc = 0;
      return SWITCH;
    }
    r = -1;
    switch (why) {
      case Exit.Exit: {
        if (st.depth === 0) return DONE;
        const ret = popFrame(st, p);
        if (ret >= 0) {
          pc = ret;
          continue;
        }
        return ret === -1 ? SWITCH : DONE;
      }
      case Exit.CallDepth:
        throw callDepthError(at);
      case Exit.Bail:
        w.dirtyAll = true;
        return interpret(st, p, at);
      case Exit.HelperDone:
        return DONE;
      case Exit.HelperSwitch:
        return SWITCH;
      case Exit.PacketOut:
        L[0] = 0;
        H[0] = 0;
        st.depth = 0;
        return DONE;
      default:
        throw fallThroughError(at);
    }
  }
}

/**
 * Up to `n` runs of `p` from its start inside the module's repeat loop (repeat-loop.ts), the first from
 * the state Vm's reset just set up (registers, zeroed stacks, budget): returns how many finished, or -1
 * when `p` cannot loop (it runs on another engine, or the budget does not fit the module's counter).
 * When the loop stopped inside a run, wasmResume finishes it.
 */
export function wasmRepeat(st: EngineState, p: LoadedProgram, n: number): number {
  const w = st.wasm;
  const c = (p.wasm as Slot | undefined)?.instance;
  if (w === undefined || c === undefined || c.blockOf[0] !== 0 || st.budget > BUDGET_CAP || st.depth !== 0) return -1;
  if (st.lo[10] !== st.stackTops[0] || st.hi[10] !== 0) return -1;
  // (noted before the loop: a fault inside it leaves no chance to note it after)
  enter(st, w, c);
  const cells = w.cells;
  // the loop clears the module's own stack bytes before each run: more makes it stop (tail-call.ts)
  cells[CLEARS_CELL] = c.stackBytes;
  // every run starts in this program with no tail call taken (the image writeRepeatStart keeps)
  cells[CURRENT_CELL] = p.id;
  cells[TAIL_COUNT_CELL] = 0;
  writeRepeatStart(cells, st.budget);
  w.extra = 0;
  enterModule(st, w);
  let done: number;
  try {
    done = c.repeat(n, MEM_STACKS);
  } catch (err) {
    throw nameTarget(err, st, w, p);
  }
  leaveModule(st, w);
  takeBudget(st, w);
  return done;
}

/** Finish the run wasmRepeat stopped inside (DONE or SWITCH, as the engine returns), or -1 when there is none. */
export function wasmResume(st: EngineState, p: LoadedProgram): number {
  const w = st.wasm;
  const c = (p.wasm as Slot | undefined)?.instance;
  if (w === undefined || c === undefined) return -1;
  const r = w.cells[PENDING_CELL] as number;
  if (r < 0) return -1;
  w.cells[PENDING_CELL] = -1;
  return drive(st, w, c, p, 0, r);
}

/** `p`'s WebAssembly instance, when it runs as one (undefined: not yet run, or on the JavaScript engine). */
export function wasmInstance(p: LoadedProgram): Instance | undefined {
  return (p.wasm as Slot | undefined)?.instance;
}

/** Why `p` runs on the JavaScript engine under 'wasm' (undefined: it runs as WebAssembly, or has not run yet). */
export function wasmStatus(p: LoadedProgram): string | undefined {
  return (p.wasm as Slot | undefined)?.refusal;
}

/** Compile and instantiate `p` against this VM's memory and state. */
function prepare(st: EngineState, w: WasmShared, p: LoadedProgram): Slot {
  const compiled = compileCached(p, tailStackFloor(st, p), vmHost.moduleCache);
  if (typeof compiled === 'string') return { instance: undefined, refusal: compiled };
  if (wasmApi === undefined) return { instance: undefined, refusal: 'this JavaScript host has no WebAssembly' };
  let module: object;
  try {
    module = new wasmApi.Module(compiled.bytes);
  } catch (err) {
    return { instance: undefined, refusal: `WebAssembly refused the module: ${(err as Error).message}` };
  }
  const M = st.mem;
  const L = st.lo;
  const H = st.hi;
  const cells = w.cells;
  const stacksLow = st.stackBases[0] as number;
  const stacksSpan = (st.stackTops[MAX_CALL_FRAMES - 1] as number) - stacksLow;
  const fns: Record<string, unknown> = {
    ld8: (lo: number, hi: number, off: number, pc: number) => M.ld8(lo, hi, off, pc),
    ld16: (lo: number, hi: number, off: number, pc: number) => M.ld16(lo, hi, off, pc),
    ld32: (lo: number, hi: number, off: number, pc: number) => M.ld32(lo, hi, off, pc),
    ld64: (lo: number, hi: number, off: number, pc: number) => {
      M.ld64(lo, hi, off, pc);
      cells[LOAD_HI_CELL] = M.hi;
      return M.lo;
    },
    st8: (lo: number, hi: number, off: number, v: number, pc: number) => {
      cells[TOUCHED_CELL] = 1;
      if (hi === 0 && ((lo >>> 0) + off - stacksLow) >>> 0 < stacksSpan) w.dirtyAll = true;
      M.st8(lo, hi, off, v, pc);
    },
    st16: (lo: number, hi: number, off: number, v: number, pc: number) => {
      cells[TOUCHED_CELL] = 1;
      if (hi === 0 && ((lo >>> 0) + off - stacksLow) >>> 0 < stacksSpan) w.dirtyAll = true;
      M.st16(lo, hi, off, v, pc);
    },
    st32: (lo: number, hi: number, off: number, v: number, pc: number) => {
      cells[TOUCHED_CELL] = 1;
      if (hi === 0 && ((lo >>> 0) + off - stacksLow) >>> 0 < stacksSpan) w.dirtyAll = true;
      M.st32(lo, hi, off, v, pc);
    },
    st64: (lo: number, hi: number, off: number, vl: number, vh: number, pc: number) => {
      cells[TOUCHED_CELL] = 1;
      if (hi === 0 && ((lo >>> 0) + off - stacksLow) >>> 0 < stacksSpan) w.dirtyAll = true;
      M.st64(lo, hi, off, vl, vh, pc);
    },
    helper: (pc: number, id: number) => {
      leaveModule(st, w);
      cells[TOUCHED_CELL] = 1;
      helperWrites(st, w);
      takeBudget(st, w);
      const r = callHelper(st, p, pc, id);
      syncRegions(M, w);
      syncPacket(st.packet, w);
      syncInline(st, w);
      putBudget(st, w);
      enterModule(st, w);
      return r;
    },
    callx: (pc: number, d: number) => {
      cells[TOUCHED_CELL] = 1;
      const lo = L[d] as number;
      const hi = H[d] as number;
      if (!p.mayCallx(lo, hi)) throw callxError(p, pc, d, lo, hi);
      leaveModule(st, w);
      helperWrites(st, w);
      takeBudget(st, w);
      const r = callHelper(st, p, pc, lo);
      syncRegions(M, w);
      syncPacket(st.packet, w);
      syncInline(st, w);
      putBudget(st, w);
      enterModule(st, w);
      return r;
    },
    packet: (pc: number, size: number, offset: number) => loadPacket(st, pc, size, offset),
    atomic: (pc: number, op: number, size: number, d: number, s: number, off: number) => {
      cells[TOUCHED_CELL] = 1;
      if (H[d] === 0 && (((L[d] as number) >>> 0) + off - stacksLow) >>> 0 < stacksSpan) w.dirtyAll = true;
      atomic(st, pc, op, size, d, s, off);
    },
    quick: quickImport(st, p),
  };
  const tails = tailState(w);
  const env: Record<string, unknown> = { memory: w.memory, table: tails.table };
  for (const name of IMPORT_NAMES) env[name] = fns[name];
  const instance = new wasmApi.Instance(module, { env });
  registerProgram(tails, p.id, instance.exports.program);
  const run = instance.exports.run as (block: number, frame: number) => number;
  const repeat = instance.exports.repeat as (n: number, frame: number) => number;
  return {
    instance: {
      run,
      repeat,
      blockOf: compiled.blockOf,
      stackBytes: compiled.stackBytes,
      module,
      env,
      tails: hasTailCall(p),
    },
    refusal: undefined,
  };
}

/**
 * Before a helper runs: a pointer argument (r1-r5) into a frame's stack lets it write from there to the
 * frame's top, which the next run's clearStacks must then zero (a frame the run never entered: all).
 */
function helperWrites(st: EngineState, w: WasmShared): void {
  const L = st.lo;
  const H = st.hi;
  const low = st.stackBases[0] as number;
  const span = (st.stackTops[MAX_CALL_FRAMES - 1] as number) - low;
  for (let r = 1; r <= 5; r++) {
    if (H[r] !== 0) continue;
    const a = (L[r] as number) >>> 0;
    if ((a - low) >>> 0 >= span) continue;
    let d = 0;
    while (d < MAX_CALL_FRAMES && a > (st.stackTops[d] as number)) d++;
    if (d > st.depth || a < (st.stackBases[d] as number)) w.dirtyAll = true;
    else if ((st.stackTops[d] as number) - a > w.dirty) w.dirty = (st.stackTops[d] as number) - a;
  }
}

/** Whether `p` has a bpf_tail_call site (a helper call, not a local one, to helper 12). */
function hasTailCall(p: LoadedProgram): boolean {
  for (let pc = 0; pc < p.slots; pc++)
    if (p.code[pc] === CALL && p.src[pc] === 0 && p.imm[pc] === TAIL_CALL) return true;
  return false;
}

/**
 * The stack bytes a program that tail calls is compiled to clear (the repeat loop's per-run clearing):
 * the most any program of the Vm writes, so a chain of stages entered from it never has to stop the
 * loop (tail-call.ts); 0 for programs that make no tail call.
 */
function tailStackFloor(st: EngineState, p: LoadedProgram): number {
  if (!hasTailCall(p)) return 0;
  let most = 0;
  for (const q of st.programs) if (q !== undefined) most = Math.max(most, wasmStackBytes(q), loadBytesReach(q));
  return most;
}
