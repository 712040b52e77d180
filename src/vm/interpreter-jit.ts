/**
 * The compiled engine ("jit"): each program is translated once into the source of one JavaScript
 * function, which V8 then optimizes like hand-written code.
 *
 * - Registers are local variables, two int32 halves each (r3l, r3h), so V8 keeps them in machine
 *   registers; nothing is boxed and nothing is BigInt.
 * - The program is cut into basic blocks; each block is a `case` of one `switch (BI[pc])` inside a loop,
 *   BI mapping a block's first pc to its dense block number (dense case labels compile to a jump table;
 *   the pcs themselves are too sparse, and V8 then tests every case in turn on each jump).
 *   Straight-line code falls from block to block; a taken jump sets pc and `continue`s. Immediates,
 *   offsets, shift counts and jump targets are literals in the source.
 * - The budget is charged once per block (every instruction of a block runs once it is entered, since
 *   helper calls, exits and packet loads end blocks), so the count is exact and matches the interpreter.
 * - Memory accesses call Memory.ld8..st64 with the pc as a literal, so faults name the instruction.
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
import * as I64 from './interpreter-int64.js';
import {
  atomic, blockBudgetError, budgetError, callDepthError, callHelper, callxError, fallThroughError, loadPacket,
} from './interpreter-ops.js';
import { BPF_PSEUDO_FUNC, MAX_CALL_FRAMES } from '../isa/index.js';
import { FRAME_INTS } from './interpreter-state.js';
import { VmError } from './vm-error.js';
import { setFlagsFromString } from 'node:v8';

type Compiled = (st: EngineState, startPc: number) => number;

/** The packet bytes of a run without a packet (its readable end is -1, so nothing is read from it). */
const NO_PACKET = new Uint8Array(0);

/** Out-of-line functions the generated code calls (one object, passed in once per compile). */
const X = {
  ...I64,
  atomic,
  blockBudgetError,
  budgetError,
  callDepthError,
  callxError,
  refill,
  syncCache,
  budgetOut,
  ldAbsMiss,
  ldc,
  ld64c,
  stc,
  st64c,
  callHelper,
  fallThroughError,
  loadPacket,
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
  return generate(p);
}

function compile(p: LoadedProgram): Compiled {
  const src = generate(p);
  allowOptimizing(src.length);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function('X', 'P', 'O', 'C', 'BI', src) as (x: typeof X, p: LoadedProgram, o: Int32Array, c: RegionCache, bi: Int32Array) => Compiled;
  return factory(X, p, I64.out, newCache(countMemoryInsns(p)), blockIndex(p));
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
 * compile time on a background thread but never changes results.
 */
const DEFAULT_MAX_OPTIMIZED_BYTECODE = 60 * 1024;
let optimizedBytecodeLimit = DEFAULT_MAX_OPTIMIZED_BYTECODE;
/** V8 warns that very high limits may hit compiler assertions: larger programs stay unoptimized, as before. */
const MAX_RAISED_BYTECODE = 256 * 1024;
function allowOptimizing(sourceChars: number): void {
  const want = Math.min(Math.ceil(sourceChars * 1.25), MAX_RAISED_BYTECODE);
  if (want <= optimizedBytecodeLimit) return;
  optimizedBytecodeLimit = want;
  try {
    setFlagsFromString(`--max-optimized-bytecode-size=${want}`);
    setFlagsFromString(`--bytecode-size-allowance-per-tick=${Math.max(150, Math.ceil(want / 20))}`);
  } catch {
    /* a runtime that refuses late flags just runs the program unoptimized */
  }
}

const lo = (r: number) => `r${r}l`;
const hi = (r: number) => (r === 10 ? '0' : `r${r}h`);

function spillAll(): string {
  let s = '';
  for (let r = 0; r <= 9; r++) s += `L[${r}]=r${r}l;H[${r}]=r${r}h;`;
  return `${s}L[10]=r10l;H[10]=0;`;
}
function spill(regs: number[]): string {
  return regs.map((r) => (r === 10 ? 'L[10]=r10l;H[10]=0;' : `L[${r}]=r${r}l;H[${r}]=r${r}h;`)).join('');
}
function reload(regs: number[]): string {
  return regs.map((r) => (r === 10 ? 'r10l=L[10];' : `r${r}l=L[${r}];r${r}h=H[${r}];`)).join('');
}

/** Block leaders: entry, jump/call targets, and the instruction after anything that ends a block. */
function leaders(p: LoadedProgram): Uint8Array {
  const n = p.slots;
  const lead = new Uint8Array(n + 1);
  lead[0] = 1;
  for (let pc = 0; pc < n; pc++) {
    const op = p.code[pc] as number;
    if (op === 0x18) {
      if (p.src[pc] === BPF_PSEUDO_FUNC) lead[p.imm[pc] as number] = 1; // a callback's entry
      pc++;
      continue;
    }
    const cls = op & 7;
    if (cls === 5 || cls === 6) {
      lead[pc + 1] = 1;
      const jop = op & 0xf0;
      if (jop === 0x90) continue;
      if (jop === 0x80) {
        if ((op & 8) === 0 && p.src[pc] === 1) lead[pc + (p.imm[pc] as number) + 1] = 1;
        continue;
      }
      const t = cls === 6 && jop === 0 ? pc + (p.imm[pc] as number) + 1 : pc + (p.off[pc] as number) + 1;
      lead[t] = 1;
    } else if ((op & 0x07) === 0 && (op & 0xe0) !== 0) {
      lead[pc + 1] = 1; // LD_ABS / LD_IND may end the program
    }
  }
  return lead;
}

/** Dense block numbers by first pc (-1 elsewhere); slot n (falling off the end) gets the last number. */
function blockIndex(p: LoadedProgram): Int32Array {
  const lead = leaders(p);
  const bi = new Int32Array(p.slots + 1).fill(-1);
  let b = 0;
  for (let pc = 0; pc < p.slots; pc++) {
    if (lead[pc]) bi[pc] = b++;
    if (p.code[pc] === 0x18) pc++;
  }
  bi[p.slots] = b;
  return bi;
}

/**
 * LD_ABS / LD_IND read the packet inline: the packet's bytes, data offset and readable end (the lesser of
 * its end and the buffer's length, -1 when the run has no packet) are locals, taken at entry and again
 * after every helper call (helpers are what resize or replace the packet). In-bounds loads with a
 * non-negative offset are a compare and a few byte reads; everything else (SKF_NET_OFF / SKF_LL_OFF,
 * out of bounds, no packet) takes X.loadPacket, which ends the program or faults exactly as before.
 */
const PACKET_SYNC =
  'if (st.packet !== undefined) { PB = st.packet.bytes; PD = st.packet.data; PE = st.packet.end < PB.length ? st.packet.end : PB.length; } else PE = -1;';

function isPacketLoad(op: number): boolean {
  return op === 0x30 || op === 0x28 || op === 0x20 || op === 0x50 || op === 0x48 || op === 0x40;
}

function hasPacketLoads(p: LoadedProgram): boolean {
  for (let pc = 0; pc < p.slots; pc++) {
    const op = p.code[pc] as number;
    if (op === 0x18) pc++;
    else if (isPacketLoad(op)) return true;
  }
  return false;
}

function generate(p: LoadedProgram): string {
  const n = p.slots;
  const packetLoads = hasPacketLoads(p);
  const lead = leaders(p);
  const out: string[] = [];
  out.push('"use strict";');
  out.push('return function compiled(st, startPc) {');
  out.push('const L = st.lo, H = st.hi, M = st.mem;');
  const decl: string[] = [];
  for (let r = 0; r <= 9; r++) decl.push(`r${r}l = L[${r}] | 0, r${r}h = H[${r}] | 0`);
  decl.push('r10l = L[10] | 0');
  out.push(`let ${decl.join(', ')};`);
  out.push('let budget = st.budget, pc = startPc | 0, t = 0, q = 0, a = 0, o = 0, depth = st.depth | 0;');
  out.push('const F = st.frames, T = st.stackTops, PID = P.id;');
  out.push('const CB = C.base, CE = C.end, CV = C.view;');
  // cached regions are only valid for the memory layout they were taken from
  out.push('if (C.epoch !== M.epoch || C.resizes !== M.resizes) X.syncCache(M, C);');
  if (hasPacketLoads(p)) out.push(`let PB = X.NO_PACKET, PD = 0, PE = -1; ${PACKET_SYNC}`);
  out.push('for (;;) {');
  out.push('switch (BI[pc]) {');
  const bi = blockIndex(p);
  let memIndex = 0;
  for (let pc = 0; pc < n; pc++) {
    if (lead[pc]) {
      // block length in instructions (not slots)
      let count = 0;
      let e = pc;
      do {
        count++;
        e += p.code[e] === 0x18 ? 2 : 1;
      } while (e < n && !lead[e]);
      // (budgetOut always throws: one short call keeps the function small enough for V8 to optimize)
      out.push(`case ${bi[pc]}: if ((budget -= ${count}) < 0) X.budgetOut(st, P, ${pc}, ${count}, budget);`);
    }
    out.push(insn(p, pc, memIndex, packetLoads));
    if (MEM_SIZE[p.code[pc] as number] !== undefined) memIndex++;
    if (p.code[pc] === 0x18) pc++;
  }
  // Falling off the last block lands here.
  out.push(`case ${bi[n]}: throw X.fallThroughError(${n});`);
  out.push(`default: throw new X.VmError('internal', 'compiled code reached an unknown pc ' + pc, { pc: -1 });`);
  out.push('}');
  out.push('}');
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

/** A block's budget ran out: throws the budget error naming the instruction that exhausted it. */
function budgetOut(st: EngineState, p: LoadedProgram, blockStart: number, count: number, budget: number): never {
  st.budget = 0;
  throw blockBudgetError(p, blockStart, budget + count, st.limit);
}

/** LD_ABS/LD_IND out of bounds: the program ends with r0 = 0 (kernel semantics). */
function ldAbsMiss(st: EngineState, budget: number): number {
  st.lo[0] = 0;
  st.hi[0] = 0;
  st.depth = 0;
  st.budget = budget;
  return 0;
}

/** Cache miss of a 1/2/4-byte load: the checked access (ld8/ld16 unsigned, ld32 int32), then refill. */
function ldc(M: Memory, C: RegionCache, i: number, size: number, lo: number, hi: number, off: number, pc: number): number {
  const v = size === 1 ? M.ld8(lo, hi, off, pc) : size === 2 ? M.ld16(lo, hi, off, pc) : M.ld32(lo, hi, off, pc);
  refill(M, C, i, size);
  return v;
}
/** Cache miss of an 8-byte load: the value is left in M.lo / M.hi. */
function ld64c(M: Memory, C: RegionCache, i: number, lo: number, hi: number, off: number, pc: number): void {
  M.ld64(lo, hi, off, pc);
  refill(M, C, i, 8);
}
function stc(M: Memory, C: RegionCache, i: number, size: number, lo: number, hi: number, off: number, v: number, pc: number): void {
  if (size === 1) M.st8(lo, hi, off, v, pc);
  else if (size === 2) M.st16(lo, hi, off, v, pc);
  else M.st32(lo, hi, off, v, pc);
  refill(M, C, i, size);
}
function st64c(M: Memory, C: RegionCache, i: number, lo: number, hi: number, off: number, vlo: number, vhi: number, pc: number): void {
  M.st64(lo, hi, off, vlo, vhi, pc);
  refill(M, C, i, 8);
}

function countMemoryInsns(p: LoadedProgram): number {
  let n = 0;
  for (let pc = 0; pc < p.slots; pc++) {
    const op = p.code[pc] as number;
    if (op === 0x18) pc++;
    else if (MEM_SIZE[op] !== undefined) n++;
  }
  return n;
}

/** Access size of the plain loads/stores (LDX MEM/MEMSX, ST, STX MEM). */
const MEM_SIZE: Record<number, number> = {
  0x71: 1, 0x69: 2, 0x61: 4, 0x79: 8, 0x91: 1, 0x89: 2, 0x81: 4,
  0x72: 1, 0x6a: 2, 0x62: 4, 0x7a: 8, 0x73: 1, 0x6b: 2, 0x63: 4, 0x7b: 8,
};

/**
 * A load or store with an inline cache: when the address falls in the region this instruction touched
 * last (a stride-free region; for stores a writable one), access its DataView directly; otherwise take
 * the checked Memory path, which faults or tells us the region to cache.
 */
function memOp(i: number, baseLo: string, baseHi: string, off: number, fast: string, slow: string): string {
  return (
    `o = (${baseLo} >>> 0) + ${off} - CB[${i}]; ` +
    `if (${baseHi === '0' ? '' : `${baseHi} === 0 && `}o >= 0 && o <= CE[${i}]) { ${fast} } ` +
    `else { ${slow} }`
  );
}

/** 64-bit condition source for JMP op on (ah:al) vs (bh:bl) (operands are JS expressions). */
function cond64(op: number, al: string, ah: string, bl: string, bh: string): string {
  const u = (x: string) => `(${x} >>> 0)`;
  switch (op) {
    case 0x10: return `${al} === ${bl} && ${ah} === ${bh}`;
    case 0x50: return `${al} !== ${bl} || ${ah} !== ${bh}`;
    case 0x40: return `(${al} & ${bl}) !== 0 || (${ah} & ${bh}) !== 0`;
    case 0x20: return `${u(ah)} > ${u(bh)} || (${ah} === ${bh} && ${u(al)} > ${u(bl)})`;
    case 0x30: return `${u(ah)} > ${u(bh)} || (${ah} === ${bh} && ${u(al)} >= ${u(bl)})`;
    case 0xa0: return `${u(ah)} < ${u(bh)} || (${ah} === ${bh} && ${u(al)} < ${u(bl)})`;
    case 0xb0: return `${u(ah)} < ${u(bh)} || (${ah} === ${bh} && ${u(al)} <= ${u(bl)})`;
    case 0x60: return `${ah} > ${bh} || (${ah} === ${bh} && ${u(al)} > ${u(bl)})`;
    case 0x70: return `${ah} > ${bh} || (${ah} === ${bh} && ${u(al)} >= ${u(bl)})`;
    case 0xc0: return `${ah} < ${bh} || (${ah} === ${bh} && ${u(al)} < ${u(bl)})`;
    case 0xd0: return `${ah} < ${bh} || (${ah} === ${bh} && ${u(al)} <= ${u(bl)})`;
  }
  throw new Error(`bad jump op ${op}`);
}

/** 32-bit condition on int32 expressions a, b. */
function cond32(op: number, a: string, b: string): string {
  const u = (x: string) => `(${x} >>> 0)`;
  switch (op) {
    case 0x10: return `${a} === ${b}`;
    case 0x50: return `${a} !== ${b}`;
    case 0x40: return `(${a} & ${b}) !== 0`;
    case 0x20: return `${u(a)} > ${u(b)}`;
    case 0x30: return `${u(a)} >= ${u(b)}`;
    case 0xa0: return `${u(a)} < ${u(b)}`;
    case 0xb0: return `${u(a)} <= ${u(b)}`;
    case 0x60: return `${a} > ${b}`;
    case 0x70: return `${a} >= ${b}`;
    case 0xc0: return `${a} < ${b}`;
    case 0xd0: return `${a} <= ${b}`;
  }
  throw new Error(`bad jump op ${op}`);
}

/** Literal source for an int32. */
const lit = (v: number) => (v < 0 ? `(${v | 0})` : String(v | 0));

function insn(p: LoadedProgram, pc: number, mi: number, packetLoads: boolean): string {
  const op = p.code[pc] as number;
  const d = p.dst[pc] as number;
  const s = p.src[pc] as number;
  const off = p.off[pc] as number;
  const imm = p.imm[pc] as number;
  const cls = op & 7;
  const x = (op & 8) !== 0;
  const dl = lo(d);
  const dh = hi(d);

  if (cls === 4 || cls === 7) {
    const bl = x ? lo(s) : lit(imm);
    const bh = x ? hi(s) : lit(imm >> 31);
    const aop = op & 0xf0;
    if (cls === 4) {
      let e: string;
      switch (aop) {
        case 0x00: e = `(${dl} + ${bl}) | 0`; break;
        case 0x10: e = `(${dl} - ${bl}) | 0`; break;
        case 0x20: e = `Math.imul(${dl}, ${bl})`; break;
        case 0x30: e = off === 1 ? `X.div32s(${dl}, ${bl})` : `X.div32u(${dl}, ${bl})`; break;
        case 0x40: e = `${dl} | ${bl}`; break;
        case 0x50: e = `${dl} & ${bl}`; break;
        case 0x60: e = x ? `${dl} << (${bl} & 31)` : `${dl} << ${imm & 31}`; break;
        case 0x70: e = x ? `(${dl} >>> (${bl} & 31)) | 0` : `(${dl} >>> ${imm & 31}) | 0`; break;
        case 0x80: e = `-${dl} | 0`; break;
        case 0x90: e = off === 1 ? `X.mod32s(${dl}, ${bl})` : `X.mod32u(${dl}, ${bl})`; break;
        case 0xa0: e = `${dl} ^ ${bl}`; break;
        case 0xb0: e = off === 8 ? `(${bl} << 24) >> 24` : off === 16 ? `(${bl} << 16) >> 16` : `${bl}`; break;
        case 0xc0: e = x ? `${dl} >> (${bl} & 31)` : `${dl} >> ${imm & 31}`; break;
        default:
          if (x) {
            if (imm === 16) e = `X.bswap16(${dl})`;
            else if (imm === 32) e = `X.bswap32(${dl})`;
            else return `t = X.bswap32(${dh}); ${dh} = X.bswap32(${dl}); ${dl} = t | 0;`;
          } else if (imm === 16) e = `${dl} & 65535`;
          else if (imm === 32) e = dl;
          else return '';
      }
      return `${dl} = ${e}; ${dh} = 0;`;
    }
    switch (aop) {
      case 0x00:
        // all-int32 carry (no doubles, so V8 never deoptimizes on overflow): carry iff the sum wrapped
        // (a zero high half of an immediate is left out: the function must stay small, see budgetOut)
        return `t = (${dl} + ${bl}) | 0; ${dh} = (${dh}${bh === '0' ? '' : ` + ${bh}`} + ((t >>> 0) < (${dl} >>> 0) ? 1 : 0)) | 0; ${dl} = t;`;
      case 0x10:
        return `t = (${dl} - ${bl}) | 0; ${dh} = (${dh}${bh === '0' ? '' : ` - ${bh}`} - ((${dl} >>> 0) < (${bl} >>> 0) ? 1 : 0)) | 0; ${dl} = t;`;
      case 0x20:
        return `X.mul64(${dl}, ${dh}, ${bl}, ${bh}); ${dl} = O[0]; ${dh} = O[1];`;
      case 0x30:
        return `X.${off === 1 ? 'div64s' : 'div64u'}(${dl}, ${dh}, ${bl}, ${bh}); ${dl} = O[0]; ${dh} = O[1];`;
      case 0x90:
        return `X.${off === 1 ? 'mod64s' : 'mod64u'}(${dl}, ${dh}, ${bl}, ${bh}); ${dl} = O[0]; ${dh} = O[1];`;
      case 0x40: return `${dl} |= ${bl};${bh === '0' ? '' : ` ${dh} |= ${bh};`}`;
      case 0x50: return `${dl} &= ${bl}; ${bh === '0' ? `${dh} = 0;` : bh === '(-1)' ? '' : `${dh} &= ${bh};`}`;
      case 0xa0: return `${dl} ^= ${bl};${bh === '0' ? '' : ` ${dh} ^= ${bh};`}`;
      case 0x80: return `${dh} = (~${dh} + (${dl} === 0 ? 1 : 0)) | 0; ${dl} = -${dl} | 0;`;
      case 0xb0:
        if (off === 0) return `${dl} = ${bl}; ${dh} = ${bh};`;
        if (off === 8) return `${dl} = (${bl} << 24) >> 24; ${dh} = ${dl} >> 31;`;
        if (off === 16) return `${dl} = (${bl} << 16) >> 16; ${dh} = ${dl} >> 31;`;
        return `${dl} = ${bl}; ${dh} = ${dl} >> 31;`;
      case 0x60:
      case 0x70:
      case 0xc0: {
        if (x) {
          const f = aop === 0x60 ? 'lsh64' : aop === 0x70 ? 'rsh64' : 'arsh64';
          return `X.${f}(${dl}, ${dh}, ${bl}); ${dl} = O[0]; ${dh} = O[1];`;
        }
        const k = imm & 63;
        if (k === 0) return '';
        if (aop === 0x60) {
          if (k < 32) return `${dh} = (${dh} << ${k}) | (${dl} >>> ${32 - k}); ${dl} = ${dl} << ${k};`;
          return `${dh} = ${dl} << ${k - 32}; ${dl} = 0;`;
        }
        if (aop === 0x70) {
          if (k < 32) return `${dl} = (${dl} >>> ${k}) | (${dh} << ${32 - k}); ${dh} = (${dh} >>> ${k}) | 0;`;
          return `${dl} = (${dh} >>> ${k - 32}) | 0; ${dh} = 0;`;
        }
        if (k < 32) return `${dl} = (${dl} >>> ${k}) | (${dh} << ${32 - k}); ${dh} = ${dh} >> ${k};`;
        return `${dl} = ${dh} >> ${k - 32}; ${dh} = ${dh} >> 31;`;
      }
      default:
        // 0xd7: bswap
        if (imm === 16) return `${dl} = X.bswap16(${dl}); ${dh} = 0;`;
        if (imm === 32) return `${dl} = X.bswap32(${dl}); ${dh} = 0;`;
        return `t = X.bswap32(${dh}); ${dh} = X.bswap32(${dl}); ${dl} = t | 0;`;
    }
  }

  if (cls === 5 || cls === 6) {
    const jop = op & 0xf0;
    if (jop === 0x00) {
      const target = cls === 5 ? pc + off + 1 : pc + imm + 1;
      return `pc = ${target}; continue;`;
    }
    if (jop === 0x80) {
      if (!x && s === 1) {
        const save = [6, 7, 8, 9].map((r, i) => `F[q + ${2 + 2 * i}] = r${r}l; F[q + ${3 + 2 * i}] = r${r}h;`).join(' ');
        return (
          `if (depth >= ${MAX_CALL_FRAMES - 1}) throw X.callDepthError(${pc}); ` +
          `q = depth * ${FRAME_INTS}; F[q] = ${pc + 1}; F[q + 1] = PID; ${save} F[q + 10] = r10l; ` +
          `depth++; if (depth > st.maxDepth) st.maxDepth = depth; r10l = T[depth]; pc = ${pc + imm + 1}; continue;`
        );
      }
      const id = x ? lo(d) : String(imm);
      return (
        (x ? `if (${hi(d)} !== 0) throw X.callxError(${pc}, ${d}); ` : '') +
        `${spill([1, 2, 3, 4, 5])} st.budget = budget; st.depth = depth; q = X.callHelper(st, P, ${pc}, ${id}); r0l = L[0]; r0h = H[0]; ` +
        `if (q !== -1) { if (q === 1) { ${spill([6, 7, 8, 9, 10])} } return q; } budget = st.budget; ` +
        'if (C.epoch !== M.epoch || C.resizes !== M.resizes) X.syncCache(M, C);' +
        (packetLoads ? ` ${PACKET_SYNC}` : '')
      );
    }
    if (jop === 0x90) {
      const restore = [6, 7, 8, 9].map((r, i) => `r${r}l = F[q + ${2 + 2 * i}]; r${r}h = F[q + ${3 + 2 * i}];`).join(' ');
      return (
        `if (depth === 0) { L[0] = r0l; H[0] = r0h; st.depth = 0; st.budget = budget; return 0; } ` +
        `depth--; q = depth * ${FRAME_INTS}; ${restore} r10l = F[q + 10]; ` +
        // a callback's frame: back to the helper that invoked it
        `if (F[q] < 0) { st.depth = depth; st.hostReturn = true; L[0] = r0l; H[0] = r0h; st.budget = budget; return 0; } ` +
        // the frame belongs to another program (a tail call happened in the callee): let the driver switch
        `if (F[q + 1] !== PID) { st.depth = depth; st.next = st.programs[F[q + 1]]; st.pc = F[q]; ${spillAll()} st.budget = budget; return 1; } ` +
        `pc = F[q]; continue;`
      );
    }
    const target = pc + off + 1;
    let c: string;
    if (cls === 6) c = cond32(jop, dl, x ? lo(s) : lit(imm));
    else c = cond64(jop, dl, dh, x ? lo(s) : lit(imm), x ? hi(s) : lit(imm >> 31));
    return `if (${c}) { pc = ${target}; continue; }`;
  }

  const sl = lo(s);
  const sh = hi(s);
  switch (op) {
    case 0x71:
    case 0x69:
    case 0x61:
    case 0x91:
    case 0x89:
    case 0x81: {
      const size = MEM_SIZE[op] as number;
      const get = size === 1 ? `CV[${mi}].getUint8(o)` : size === 2 ? `CV[${mi}].getUint16(o, true)` : `CV[${mi}].getInt32(o, true)`;
      const signed = op >= 0x81;
      const ext = (v: string) => (!signed || size === 4 ? v : size === 1 ? `(${v} << 24) >> 24` : `(${v} << 16) >> 16`);
      const setHi = signed ? `${dh} = ${dl} >> 31;` : `${dh} = 0;`;
      return memOp(mi, sl, sh, off, `${dl} = ${ext(get)}; ${setHi}`, `${dl} = ${ext(`X.ldc(M, C, ${mi}, ${size}, ${sl}, ${sh}, ${off}, ${pc})`)}; ${setHi}`);
    }
    case 0x79:
      return memOp(mi, sl, sh, off, `${dl} = CV[${mi}].getInt32(o, true); ${dh} = CV[${mi}].getInt32(o + 4, true);`, `X.ld64c(M, C, ${mi}, ${sl}, ${sh}, ${off}, ${pc}); ${dl} = M.lo; ${dh} = M.hi;`);
    case 0x72:
    case 0x6a:
    case 0x62:
    case 0x73:
    case 0x6b:
    case 0x63: {
      const size = MEM_SIZE[op] as number;
      const v = (op & 0x07) === 0x02 ? lit(imm) : sl;
      const set = size === 1 ? `CV[${mi}].setUint8(o, ${v});` : size === 2 ? `CV[${mi}].setUint16(o, ${v}, true);` : `CV[${mi}].setInt32(o, ${v}, true);`;
      return memOp(mi, dl, dh, off, set, `X.stc(M, C, ${mi}, ${size}, ${dl}, ${dh}, ${off}, ${v}, ${pc});`);
    }
    case 0x7a:
    case 0x7b: {
      const vl = op === 0x7a ? lit(imm) : sl;
      const vh = op === 0x7a ? lit(imm >> 31) : sh;
      return memOp(mi, dl, dh, off, `CV[${mi}].setInt32(o, ${vl}, true); CV[${mi}].setInt32(o + 4, ${vh}, true);`, `X.st64c(M, C, ${mi}, ${dl}, ${dh}, ${off}, ${vl}, ${vh}, ${pc});`);
    }
    case 0xc3:
    case 0xdb: {
      const regs = [...new Set([0, d, s])];
      return `${spill(regs)} X.atomic(st, ${pc}, ${imm}, ${op === 0xc3 ? 4 : 8}, ${d}, ${s}, ${off}); ${reload([0, s].filter((r, i, a) => a.indexOf(r) === i))}`;
    }
    case 0x18:
      return `${dl} = ${lit(imm)}; ${dh} = ${lit(p.imm2[pc] as number)};`;
    case 0x30: case 0x28: case 0x20: case 0x50: case 0x48: case 0x40: {
      const size = op === 0x30 || op === 0x50 ? 1 : op === 0x28 || op === 0x48 ? 2 : 4;
      const ind = op >= 0x40;
      const at = ind ? `(${lit(imm)} + ${sl}) | 0` : lit(imm);
      const slow = `t = X.loadPacket(st, ${pc}, ${size}, ${ind ? 'o' : at}); if (t < 0) return X.ldAbsMiss(st, budget); r0l = ${size === 4 ? 't | 0' : 't'};`;
      // negative offsets (SKF_NET_OFF / SKF_LL_OFF) are rare: always the out-of-line path
      if (!ind && imm < 0) return `${slow} r0h = 0;`;
      const get =
        size === 1 ? 'PB[a]' : size === 2 ? '(PB[a] << 8) | PB[a + 1]' : '(PB[a] << 24) | (PB[a + 1] << 16) | (PB[a + 2] << 8) | PB[a + 3]';
      const inBounds = ind ? `o >= 0 && (a = PD + o) + ${size} <= PE` : `(a = PD + ${imm}) + ${size} <= PE`;
      return `${ind ? `o = ${at}; ` : ''}if (${inBounds}) r0l = ${get}; else { ${slow} } r0h = 0;`;
    }
  }
  return `throw new X.VmError('load', 'invalid opcode 0x${op.toString(16)}', { pc: ${pc} });`;
}

