/**
 * The compiled engine ("jit"): each program is translated once into the source of one JavaScript
 * function, which V8 then optimizes like hand-written code.
 *
 * - Registers are local variables, two int32 halves each (r3l, r3h), so V8 keeps them in machine
 *   registers; nothing is boxed and nothing is BigInt.
 * - The program is cut into basic blocks, placed by one of two layouts (jit-layout.ts). Flat: for
 *   programs without loops or local calls (most filters), the blocks in topological order and jumps as
 *   `break` out of labeled blocks, which V8 optimizes quickly and well. Switch: any program; each block is
 *   a `case` of one `switch (BI[pc])` inside a loop, BI mapping a block's first pc to its dense block
 *   number (dense case labels compile to a jump table; the pcs themselves are too sparse, and V8 then
 *   tests every case in turn on each jump); a taken jump sets pc and `continue`s. Immediates, offsets,
 *   shift counts and jump targets are literals in the source; instructions are translated in jit-insn.ts.
 * - The budget is charged once per block (every instruction of a block runs once it is entered, since
 *   helper calls, exits and packet loads end blocks), so the count is exact and matches the interpreter.
 *   A block the budget cannot pay for in full runs on the interpreter, which faults at the same
 *   instruction after the same stores: both engines leave the same memory and maps after a budget fault.
 * - Memory accesses call Memory.ld8..st64 with the pc as a literal, so faults name the instruction. In
 *   the flat layout, r10-relative accesses inside the frame read the stack directly (no check needed).
 * - Loads and stores keep a per-instruction cache of the region they touched last (base, last valid
 *   offset, DataView): a hit is a compare and a DataView access; a miss takes Memory's checked path,
 *   which faults or refills the cache. Caches are locals of one invocation and are dropped whenever a
 *   helper changed the memory layout (Memory.epoch), so a remapped packet is never read stale.
 * - Local calls and their exits are inlined (frames in st.frames, the depth in a local).
 * - LD_ABS/LD_IND read the packet inline when the offset is non-negative and in bounds (see PACKET_SYNC);
 *   other packet loads, helper calls and atomics go through the same out-of-line functions as the
 *   interpreter (interpreter-ops.ts), after spilling the registers they use into the shared register file.
 *
 * The generated source only ever contains numbers computed from the instruction fields and fixed
 * identifiers, never text taken from the program, so it cannot be used to inject code.
 */
import type { EngineState } from './interpreter-state.js';
import type { Memory } from './memory.js';
import { interpret } from './interpreter-switch.js';
import type { LoadedProgram } from './interpreter-program.js';
import { out as int64Result } from './interpreter-int64.js';
import {
  atomic,
  budgetError,
  callDepthError,
  callHelper,
  callxError,
  fallThroughError,
  loadPacket,
} from './interpreter-ops.js';
import { VmError } from './vm-error.js';
import { basicBlocks, blockIndex, flatOrder, leaders, longestFrom, longestPath, type Block } from './jit-layout.js';
import { hasPacketLoads, insn, MEM_SIZE, PACKET_SYNC, spillAll, type JumpLayout } from './jit-insn.js';
import { SEMANTICS_HELPERS, slotsOfCode } from './insn-semantics.js';
import { OP_LDDW } from '../isa/index.js';
import { vmHost } from './host-environment.js';

type Compiled = (st: EngineState, startPc: number) => number;

/** The packet bytes of a run without a packet (its readable end is -1, so nothing is read from it). */
const NO_PACKET = new Uint8Array(0);

/**
 * Out-of-line functions the generated code calls (one object, passed in once per compile): the helpers
 * of the semantics templates (insn-semantics.ts) and the compiled engine's own.
 */
const X = {
  ...SEMANTICS_HELPERS,
  atomic,
  budgetError,
  callDepthError,
  callxError,
  refill,
  syncCache,
  ldAbsMiss,
  ldc,
  ld64c,
  stc,
  st64c,
  callHelper,
  fallThroughError,
  loadPacket,
  interpret,
  VmError,
  NO_PACKET,
};

/**
 * Programs larger than this run on the interpreter even with engine 'jit': V8 takes seconds to compile
 * (and may refuse) single functions that large, and such programs are rare (the kernel's limit for
 * unprivileged programs is 4,096 instructions).
 */
export const MAX_COMPILED_SLOTS = 16384;

/** Engine entry: compile on first use (or fall back to the interpreter for huge programs), then call. */
export function compiledEngine(st: EngineState, p: LoadedProgram, startPc: number): number {
  let f = p.compiled as Compiled | undefined;
  if (f === undefined) f = p.compiled = p.slots > MAX_COMPILED_SLOTS ? interpretAdapter(p) : compileOrInterpret(p);
  return f(st, startPc);
}

function interpretAdapter(p: LoadedProgram): Compiled {
  return (st, startPc) => interpret(st, p, startPc);
}

function compileOrInterpret(p: LoadedProgram): Compiled {
  try {
    return compile(p);
  } catch (err) {
    // V8 limits (stack depth while parsing, function size): the interpreter gives the same results
    if (err instanceof RangeError) return interpretAdapter(p);
    throw err;
  }
}

/** Exposed for tests and the bench: the generated JavaScript source of a program. */
export function compiledSource(p: LoadedProgram): string {
  return generate(p).source;
}

function compile(p: LoadedProgram): Compiled {
  const { source, bi, memoryOps } = generate(p);
  allowOptimizing(source.length);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function('X', 'P', 'O', 'C', 'BI', source) as (
    x: typeof X,
    p: LoadedProgram,
    o: Int32Array,
    c: RegionCache,
    bi: Int32Array,
  ) => Compiled;
  return factory(X, p, int64Result, newCache(memoryOps), bi);
}

/**
 * V8 leaves functions whose bytecode exceeds --max-optimized-bytecode-size (60 KiB by default) to its
 * unoptimized tiers, where a compiled program runs ~5-10x slower than optimized (a filter of ~850
 * instructions: ~50 ns per instruction instead of a few). Programs that large are exactly the ones worth
 * optimizing, so the limit is raised (never lowered) to fit the largest generated function; bytecode is
 * at most about as long as the source. V8 also waits longer before optimizing large functions (3 profiler
 * ticks plus one per 150 bytes of bytecode: ~500 ticks, some 20,000 runs of that filter spent unoptimized
 * at ~10x the cost), so the per-tick allowance is raised with it to keep the wait near 20 ticks. Both are
 * process-wide V8 settings: other large functions may now be optimized too, and sooner, which costs
 * compile time on a background thread but never changes results. Outside Node (a browser) there is no
 * way to set them, and large programs stay unoptimized.
 */
const DEFAULT_MAX_OPTIMIZED_BYTECODE = 60 * 1024;
let optimizedBytecodeLimit = DEFAULT_MAX_OPTIMIZED_BYTECODE;
/** V8 warns that very high limits may hit compiler assertions: larger programs stay unoptimized, as before. */
const MAX_RAISED_BYTECODE = 256 * 1024;
function allowOptimizing(sourceChars: number): void {
  const setFlag = vmHost.setEngineFlag; // Node's v8.setFlagsFromString, given by src/loader/node-host.ts
  if (setFlag === undefined) return;
  const want = Math.min(Math.ceil(sourceChars * 1.25), MAX_RAISED_BYTECODE);
  if (want <= optimizedBytecodeLimit) return;
  optimizedBytecodeLimit = want;
  try {
    setFlag(`--max-optimized-bytecode-size=${want}`);
    setFlag(`--bytecode-size-allowance-per-tick=${Math.max(150, Math.ceil(want / 20))}`);
  } catch {
    /* a runtime that refuses late flags just runs the program unoptimized */
  }
}

/** The generated source, the switch layout's block numbers (BI; unused by the flat layout) and how many loads/stores have a region cache entry. */
function generate(p: LoadedProgram): { source: string; bi: Int32Array; memoryOps: number } {
  const lead = leaders(p);
  const blocks = basicBlocks(p, lead);
  const order = flatOrder(p, blocks);
  const mi = memoryIndexes(p);
  let memoryOps = 0;
  for (const i of mi) if (i >= 0) memoryOps++;
  if (order) return { source: generateFlat(p, order, mi), bi: new Int32Array(0), memoryOps };
  const bi = blockIndex(p, lead);
  return { source: generateSwitch(p, blocks, bi, mi), bi, memoryOps };
}

/** Declarations every layout starts with: registers as locals, scratch, region caches, packet bytes. */
function prologue(p: LoadedProgram, out: string[]): void {
  out.push('const L = st.lo, H = st.hi, M = st.mem;');
  const decl: string[] = [];
  for (let r = 0; r <= 9; r++) decl.push(`r${r}l = L[${r}] | 0, r${r}h = H[${r}] | 0`);
  decl.push('r10l = L[10] | 0');
  out.push(`let ${decl.join(', ')};`);
  out.push('let budget = st.budget, pc = startPc | 0, t = 0, q = 0, a = 0, o = 0, depth = st.depth | 0;');
  out.push('const CB = C.base, CE = C.end, CV = C.view;');
  // cached regions are only valid for the memory layout they were taken from
  out.push('if (C.epoch !== M.epoch || C.resizes !== M.resizes) X.syncCache(M, C);');
  if (hasPacketLoads(p)) out.push(`let PB = X.NO_PACKET, PD = 0, PE = -1; ${PACKET_SYNC}`);
}

/** Each load/store's index into the region cache, by slot (-1 for other instructions). */
function memoryIndexes(p: LoadedProgram): Int32Array {
  const mi = new Int32Array(p.slots).fill(-1);
  let k = 0;
  for (let pc = 0; pc < p.slots; pc++) {
    const op = p.code[pc] as number;
    if (MEM_SIZE(op) !== undefined) mi[pc] = k++;
    if (op === OP_LDDW) pc++;
  }
  return mi;
}

/**
 * A block's budget charge. When the budget cannot pay for the whole block, the block must not run as a
 * unit (its first instructions would still run on the interpreter before the fault, and their stores
 * must happen): the charge is taken back and control leaves the switch with pc = the block's start, for
 * the interpreter to run it instruction by instruction into the same fault (see generateSwitch).
 */
const charge = (b: Block) => `if ((budget -= ${b.count}) < 0) { budget += ${b.count}; pc = ${b.start}; break; }`;

function generateSwitch(p: LoadedProgram, blocks: Block[], bi: Int32Array, mi: Int32Array): string {
  const n = p.slots;
  const packetLoads = hasPacketLoads(p);
  const layout: JumpLayout = { flat: false, jump: (target) => `pc = ${target}; continue;` };
  const out: string[] = ['"use strict";', 'return function compiled(st, startPc) {'];
  prologue(p, out);
  out.push('const F = st.frames, T = st.stackTops, PID = P.id;');
  out.push('for (;;) {');
  out.push('switch (BI[pc]) {');
  for (const b of blocks) {
    out.push(`case ${bi[b.start]}: ${charge(b)}`);
    for (let pc = b.start; pc < b.end; pc += slotsOfCode(p.code[pc] as number))
      out.push(insn(p, pc, mi[pc]!, packetLoads, layout));
  }
  // Falling off the last block lands here.
  out.push(`case ${bi[n]}: throw X.fallThroughError(${n});`);
  out.push(`default: throw new X.VmError('internal', 'compiled code reached an unknown pc ' + pc, { pc: -1 });`);
  out.push('}');
  // Only a block the budget cannot pay for leaves the switch: the interpreter (same frames, same
  // registers) runs it up to the exact instruction that exhausts the budget.
  out.push(`${spillAll()} st.budget = budget; st.depth = depth; return X.interpret(st, P, pc);`);
  out.push('}');
  out.push('};');
  return out.join('\n');
}

/**
 * The flat layout (see jit-layout.ts): blocks in `order`, block k wrapped in label Bk from the top of the
 * function to its start, so a jump to it is `break Bk`. Without loops no run can execute more than the
 * longest path's instructions, so when the budget left covers it the blocks only count (no check, no
 * budget error possible). The rare other runs go to the interpreter, which gives the same results: a
 * budget too small for the longest path, or entry other than at pc 0 in frame 0 (a tail call made
 * inside a subprogram of another program).
 */
function generateFlat(p: LoadedProgram, order: Block[], mi: Int32Array): string {
  const n = p.slots;
  const packetLoads = hasPacketLoads(p);
  const position = new Map<number, number>();
  order.forEach((b, k) => position.set(b.start, k));
  const labelled = new Set<number>();
  let current = 0;
  // An unconditional transfer to the very next block is just the end of this one. (A conditional one
  // still breaks: the code after its `if` is the other way out of the block.)
  const goTo = (target: number, conditional: boolean): string => {
    if (target >= n) return `throw X.fallThroughError(${n});`;
    const k = position.get(target)!;
    if (k === current + 1 && !conditional) return '';
    labelled.add(k);
    return `break B${k};`;
  };
  const rest = longestFrom(order);
  // A helper may charge the budget for its work: when what is left no longer covers the longest way on,
  // the interpreter (checking every instruction) takes over after the call.
  const afterHelper = (pc: number): string =>
    `if (budget < ${rest.get(pc + 1) ?? 0}) { ${spillAll()} st.budget = budget; st.depth = 0; return X.interpret(st, P, ${pc + 1}); }`;
  const layout: JumpLayout = { flat: true, jump: goTo, afterHelper };
  const body: string[] = [];
  for (current = 0; current < order.length; current++) {
    const b = order[current]!;
    const code: string[] = [`budget -= ${b.count};`];
    for (let pc = b.start; pc < b.end; pc += slotsOfCode(p.code[pc] as number))
      code.push(insn(p, pc, mi[pc]!, packetLoads, layout));
    if (b.fall >= 0) code.push(goTo(b.fall, false));
    body.push(code.join('\n'));
  }
  const out: string[] = ['"use strict";', 'return function compiled(st, startPc) {'];
  out.push(
    `if (startPc !== 0 || st.depth !== 0 || st.lo[10] !== st.stackTops[0] || st.budget < ${longestPath(order)}) return X.interpret(st, P, startPc);`,
  );
  prologue(p, out);
  out.push('const SV = st.stackViews[0];');
  const labels = [...labelled].sort((x, y) => y - x);
  out.push(labels.map((k) => `B${k}: {`).join(' '));
  for (let k = 0; k < body.length; k++) {
    if (labelled.has(k)) out.push('}');
    out.push(body[k]!);
  }
  out.push('};');
  return out.join('\n');
}

/**
 * Region caches of one compiled program, one entry per load/store instruction (indexed by the
 * instruction's order among the program's loads and stores): first address, last offset from it an access
 * of that instruction's size may start at (-1: empty), and the DataView. They persist across runs and are dropped
 * whenever the memory layout changed (Memory.epoch): a new packet mapped, a region replaced or unmapped.
 */
interface RegionCache {
  epoch: number;
  /** Memory.resizes when last synced: a packet resized in place only drops the entries in `onResizable`. */
  resizes: number;
  base: Float64Array;
  end: Float64Array;
  view: DataView[];
  /** Entries that cache a resizable region (the packet), `resizableCount` of them, each listed once. */
  onResizable: Int32Array;
  resizableCount: number;
  listed: Uint8Array;
}

function newCache(n: number): RegionCache {
  // end = -1 marks an empty entry: no offset satisfies 0 <= o <= -1
  return {
    epoch: -1,
    resizes: -1,
    base: new Float64Array(n),
    end: new Float64Array(n).fill(-1),
    view: new Array<DataView>(n).fill(EMPTY_VIEW),
    onResizable: new Int32Array(n),
    resizableCount: 0,
    listed: new Uint8Array(n),
  };
}

/**
 * Drop what the memory layout invalidated: everything when regions were mapped, unmapped or moved
 * (Memory.epoch); only the entries of resizable regions when a packet changed size in place
 * (Memory.resizes) — runs over a capture then keep their context, stack and map entries.
 */
function syncCache(M: Memory, C: RegionCache): void {
  if (C.epoch !== M.epoch) {
    C.end.fill(-1);
    C.listed.fill(0);
    C.resizableCount = 0;
    C.epoch = M.epoch;
  } else {
    for (let k = 0; k < C.resizableCount; k++) {
      const i = C.onResizable[k] as number;
      C.end[i] = -1;
      C.listed[i] = 0;
    }
    C.resizableCount = 0;
  }
  C.resizes = M.resizes;
}
const EMPTY_VIEW = new DataView(new ArrayBuffer(8));

/** After a checked access succeeded: remember its region for instruction `i` (stride-free regions only). */
function refill(M: Memory, C: RegionCache, i: number, size: number): void {
  const r = M.last;
  if (r.stride !== 0) return;
  C.base[i] = r.base;
  C.end[i] = r.size - size;
  C.view[i] = r.view;
  if (r.resizable && C.listed[i] === 0) {
    C.listed[i] = 1;
    C.onResizable[C.resizableCount++] = i;
  }
}

/*
 * The out-of-line halves of the generated code, each one call: V8 only optimizes functions whose
 * bytecode stays under --max-optimized-bytecode-size (60 KiB), and a program of ~850 instructions crossed
 * it when every cache miss, budget check and LD_ABS exit was spelled out inline (it then ran unoptimized,
 * ~50 ns per instruction instead of ~1).
 */

/** LD_ABS/LD_IND out of bounds: the program ends with r0 = 0 (kernel semantics). */
function ldAbsMiss(st: EngineState, budget: number): number {
  st.lo[0] = 0;
  st.hi[0] = 0;
  st.depth = 0;
  st.budget = budget;
  return 0;
}

/** Cache miss of a 1/2/4-byte load: the checked access (ld8/ld16 unsigned, ld32 int32), then refill. */
function ldc(
  M: Memory,
  C: RegionCache,
  i: number,
  size: number,
  lo: number,
  hi: number,
  off: number,
  pc: number,
): number {
  const v = size === 1 ? M.ld8(lo, hi, off, pc) : size === 2 ? M.ld16(lo, hi, off, pc) : M.ld32(lo, hi, off, pc);
  refill(M, C, i, size);
  return v;
}
/** Cache miss of an 8-byte load: the value is left in M.lo / M.hi. */
function ld64c(M: Memory, C: RegionCache, i: number, lo: number, hi: number, off: number, pc: number): void {
  M.ld64(lo, hi, off, pc);
  refill(M, C, i, 8);
}
function stc(
  M: Memory,
  C: RegionCache,
  i: number,
  size: number,
  lo: number,
  hi: number,
  off: number,
  v: number,
  pc: number,
): void {
  if (size === 1) M.st8(lo, hi, off, v, pc);
  else if (size === 2) M.st16(lo, hi, off, v, pc);
  else M.st32(lo, hi, off, v, pc);
  refill(M, C, i, size);
}
function st64c(
  M: Memory,
  C: RegionCache,
  i: number,
  lo: number,
  hi: number,
  off: number,
  vlo: number,
  vhi: number,
  pc: number,
): void {
  M.st64(lo, hi, off, vlo, vhi, pc);
  refill(M, C, i, 8);
}
