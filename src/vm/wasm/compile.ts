/**
 * eBPF program → WebAssembly module. One exported function `run(block, frame)` runs the program from the
 * start of a basic block until it must hand control back (an exit, a local call, a helper that stopped
 * or switched the program, the budget), and returns why and where (body.ts Exit).
 *
 * Layout: the basic blocks (jit-layout.ts leaders: jump targets, and the instruction after every jump,
 * call, exit and packet load) are placed in program order, all inside one loop. A block something jumps
 * forward to, or enters through the dispatch, comes right after the `end` of its label, a WebAssembly
 * block opened where the first such jump is (labelLayout), so the labels nest only as deep as the jumps
 * overlap. So a forward jump is one `br` (or `br_if`) out to the target's label, a backward jump stores
 * the target's number and loops to a `br_table` that jumps to it, and entering at an entry block is the
 * same `br_table`. Registers are i64 locals; the budget is charged once
 * per block, exactly, and a block it cannot pay for in full runs on the interpreter (which faults at the
 * same instruction after the same stores), as in the compiled JavaScript engine.
 *
 * A program this layout cannot hold (more blocks or slots than MAX_BLOCKS / MAX_SLOTS) is refused with
 * the reason; the engine then runs it on the compiled JavaScript engine.
 */
import { BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, MAX_CALL_FRAMES, STACK_SIZE } from '../../isa/index.js';
import { FRAME_INTS } from '../interpreter-state.js';
import { SEMANTICS } from '../insn-semantics.js';
import type { LoadedProgram } from '../interpreter-program.js';
import { jumpTarget, leaders } from '../jit-layout.js';
import {
  ALL_REGS,
  Body,
  Exit,
  Fn,
  Import,
  L_BLOCK,
  L_BUDGET,
  L_FP,
  L_TI,
  L_TJ,
  LOCALS,
  MEM_BUDGET,
  MEM_CURRENT,
  MEM_DEPTH,
  MEM_FRAMES,
  MEM_HI,
  MEM_LO,
  MEM_MAX_DEPTH,
  MEM_PAGES,
  MEM_STACKS,
  MEM_TOPS,
  reg,
} from './body.js';
import { emitAlu } from './emit-alu.js';
import { emitCondition } from './emit-cond.js';
import { AccessSites, emitAtomic, emitLoad, emitPacketLoad, emitStore } from './emit-memory.js';
import { writeModule, type FuncDef, type FuncImport } from './module-writer.js';
import { loadPacketBody, LOAD_PACKET_LOCALS } from './packet-load.js';
import { emitMapLookup, MAP_LOOKUP_ELEM } from './map-lookup.js';
import { emitHashHelper, hashFuncs } from './hash-lookup.js';
import { emitQuickHelper, QUICK_HELPERS } from './quick-helpers.js';
import { resolveBody, RESOLVE_LOCALS } from './regions.js';
import { repeatBody, REPEAT_LOCALS } from './repeat-loop.js';
import { emitTailCall, PROGRAM_TYPE, TAIL_CALL } from './tail-call.js';
import { emitSkbLoadBytes, loadBytesReach, SKB_LOAD_BYTES } from './skb-load-bytes.js';
import { emitSkbStoreBytes, SKB_STORE_BYTES } from './skb-store-bytes.js';
import { emitCsumReplace, L3_CSUM_REPLACE, L4_CSUM_REPLACE } from './csum-replace.js';
import { packetsBody, PACKETS_LOCALS } from './packet-loop.js';
import * as W from './opcodes.js';

/** Largest program compiled to WebAssembly (beyond, engines' function-size limits come near). */
export const MAX_SLOTS = 200_000;
/** Most basic blocks: each may be a nesting level and is a br_table entry (engines allow ~65,000 entries). */
export const MAX_BLOCKS = 60_000;

/** A compiled program: the module's bytes and the block number of each pc that starts a block (-1 elsewhere). */
export interface WasmProgram {
  bytes: Uint8Array;
  blockOf: Int32Array;
  /**
   * Bytes below the frame's top its stores can write in WebAssembly: the lowest r10 offset
   * stored at, or the whole frame when some store goes through another register (its fast path may land
   * anywhere in the frame). Stores the imports make are tracked by the engine.
   */
  stackBytes: number;
}

const i32s = (n: number): number[] => new Array<number>(n).fill(W.I32);
const IMPORT_TYPES: readonly (readonly [string, number, number[], number[]])[] = [
  ['ld8', Import.Ld8, i32s(4), [W.I32]],
  ['ld16', Import.Ld16, i32s(4), [W.I32]],
  ['ld32', Import.Ld32, i32s(4), [W.I32]],
  ['ld64', Import.Ld64, i32s(4), [W.I32]],
  ['st8', Import.St8, i32s(5), []],
  ['st16', Import.St16, i32s(5), []],
  ['st32', Import.St32, i32s(5), []],
  ['st64', Import.St64, i32s(6), []],
  ['helper', Import.Helper, i32s(2), [W.I32]],
  ['callx', Import.Callx, i32s(2), [W.I32]],
  ['packet', Import.Packet, i32s(3), [W.F64]],
  ['atomic', Import.Atomic, i32s(6), []],
  ['quick', Import.Quick, i32s(2), [W.F64]],
];

/** The names the module imports its functions under (module "env"), in import order. */
export const IMPORT_NAMES: readonly string[] = IMPORT_TYPES.map(([name]) => name);

/**
 * Compile a loaded program; a string says why it is not compiled. `stackFloor`: stack bytes its runs
 * clear at least (engine.ts: the most any tail-call target writes).
 */
export function compileToWasm(p: LoadedProgram, stackFloor = 0): WasmProgram | string {
  const n = p.slots;
  if (n > MAX_SLOTS) return `${n} instruction slots exceed the wasm engine's ${MAX_SLOTS}`;
  const lead = leaders(p);
  const starts: number[] = [];
  for (let pc = 0; pc < n; pc++) if (lead[pc]) starts.push(pc);
  if (starts.length > MAX_BLOCKS) return `${starts.length} basic blocks exceed the wasm engine's ${MAX_BLOCKS}`;
  const blockOf = new Int32Array(n + 1).fill(-1);
  for (let k = 0; k < starts.length; k++) blockOf[starts[k] as number] = k;
  const N = starts.length;

  const b = new Body();
  const sites = new AccessSites();
  b.takeBudget();
  b.op(W.BLOCK, W.VOID); // the shared path of blocks the budget cannot pay for (after the loop)
  // Only the blocks something enters through the dispatch get a way in: every other entry goes to the
  // trap, so V8 sees those blocks reached by falling through and forward branches alone (no merge with
  // the loop's header at each of them: a 500-instruction filter's register allocation took 0.6 s).
  // A program entered only at its start (no loops, local calls or callbacks: what clang makes of a
  // filter) needs no dispatch at all: it starts at block 0 and V8 sees no loop.
  const entry = entryBlocks(p, blockOf, N);
  const dispatch = entry.some((e, k) => e !== 0 && k !== 0);
  b.op(dispatch ? W.LOOP : W.BLOCK, W.VOID);
  const labels = new Labels(labelLayout(p, starts, blockOf, dispatch ? entry : undefined));
  labels.open(b, -1);
  if (dispatch) {
    b.op(W.BLOCK, W.VOID); // the dispatch's own: a number no entry has lands on the trap after it
    b.get(L_BLOCK).op(W.BR_TABLE).u32(N);
    for (let k = 0; k < N; k++) b.u32(entry[k] ? labels.depth(k) + 1 : 0);
    b.u32(0);
    b.end().op(W.UNREACHABLE); // JavaScript only enters at the entry blocks' numbers
  }
  const checks = budgetChecks(p, starts, blockOf);
  for (let k = 0; k < N; k++) {
    labels.close(b, k);
    labels.open(b, k);
    const start = starts[k] as number;
    const stop = k + 1 < N ? (starts[k + 1] as number) : n;
    emitBlock(b, sites, p, k, labels, start, stop, blockOf, checks === undefined ? -1 : (checks[k] as number));
  }
  b.leave(Exit.FallThrough, n).end().op(W.UNREACHABLE).end();
  // bail: L_TI holds the block's first pc; the interpreter continues there with the registers
  b.spill().i32(0).get(L_BUDGET).mem(W.I32_STORE, 2, MEM_BUDGET);
  b.get(L_TI).i32(8).op(W.I32_MUL).i32(Exit.Bail).op(W.I32_ADD, W.RETURN).end();

  const imports: FuncImport[] = IMPORT_TYPES.map(([name, , params, results]) => ({
    module: 'env',
    name,
    type: { params, results },
  }));
  const written = Math.max(wasmStackBytes(p), loadBytesReach(p), stackFloor);
  const once = hasLocalCalls(p);
  const fixed = fixedFuncs();
  const bytes = writeModule({
    types: [PROGRAM_TYPE], // (type 0: what a tail call's call_indirect names)
    imports,
    memory: { module: 'env', name: 'memory', min: MEM_PAGES, max: MEM_PAGES },
    table: { module: 'env', name: 'table', min: 0 },
    globals: sites.globals(),
    funcs: [
      { type: { params: [W.I32, W.I32], results: [W.I32] }, locals: [], body: runBody(p.id), export: 'run' },
      { type: { params: [W.I64, W.I64, W.I64], results: [W.I32] }, locals: RESOLVE_LOCALS, body: fixed.resolveRead },
      { type: { params: [W.I64, W.I64, W.I64], results: [W.I32] }, locals: RESOLVE_LOCALS, body: fixed.resolveWrite },
      { type: { params: [W.I32, W.I32, W.I32], results: [W.I64] }, locals: LOAD_PACKET_LOCALS, body: fixed.loadPacket },
      { type: PROGRAM_TYPE, locals: LOCALS, body: b.bytes(), export: 'program' },
      {
        type: { params: [W.I32, W.I32], results: [W.I32] },
        locals: REPEAT_LOCALS,
        body: fixedBody(`repeat ${written} ${once}`, () => repeatBody(written, once)),
        export: 'repeat',
      },
      ...fixed.hash,
      {
        type: { params: [W.I32, W.I32, W.I32], results: [W.I32] },
        locals: PACKETS_LOCALS,
        body: fixedBody(`packets ${written}`, () => packetsBody(written)),
        export: 'packets',
      },
    ],
  });
  // JavaScript enters at the entry blocks only; at any other pc it runs the interpreter (engine.ts drive)
  // (with budget checks, only block 0 is checked for the whole program: that is where JavaScript enters)
  const entryOf = blockOf.map((k) => (k >= 0 && entry[k] && (checks === undefined || k === 0) ? k : -1));
  return { bytes, blockOf: entryOf, stackBytes: written };
}

/**
 * The functions every module holds that do not depend on the program (the resolve functions, the
 * packet load, the hash-map functions), written once per process: in a fresh process the code that writes
 * them runs unoptimised, and took about a third of a 1,000-instruction program's code generation.
 * (writeModule only reads the bodies.)
 */
let fixedOnce:
  { resolveRead: Uint8Array; resolveWrite: Uint8Array; loadPacket: Uint8Array; hash: FuncDef[] } | undefined;

function fixedFuncs(): NonNullable<typeof fixedOnce> {
  fixedOnce ??= {
    resolveRead: resolveBody(false),
    resolveWrite: resolveBody(true),
    loadPacket: loadPacketBody(),
    hash: hashFuncs(),
  };
  return fixedOnce;
}

/** Bodies that depend on a few figures of the program (the stack bytes it clears), by those figures. */
const fixedBodies = new Map<string, Uint8Array>();

/** The body `make` writes, written once per `key` (which names every figure `make` reads). */
function fixedBody(key: string, make: () => Uint8Array): Uint8Array {
  let body = fixedBodies.get(key);
  if (body === undefined) fixedBodies.set(key, (body = make()));
  return body;
}

/**
 * Which blocks the dispatch's br_table may enter: the program's start, local-call targets and the
 * instructions after local calls (where a frame JavaScript popped resumes), callbacks' entries, and the
 * targets of backward jumps (which loop through the dispatch). Every other block is reached only by
 * falling through or by a forward branch.
 */
function entryBlocks(p: LoadedProgram, blockOf: Int32Array, N: number): Uint8Array {
  const entry = new Uint8Array(N);
  const mark = (pc: number): void => {
    const k = pc >= 0 && pc < p.slots ? (blockOf[pc] as number) : -1;
    if (k >= 0) entry[k] = 1;
  };
  mark(0);
  for (let pc = 0; pc < p.slots; pc++) {
    const kind = SEMANTICS[p.code[pc] as number]?.kind;
    if (kind === 'lddw') {
      if (p.src[pc] === BPF_PSEUDO_FUNC) mark(p.imm[pc] as number);
      pc++;
    } else if (kind === 'call' && p.src[pc] === BPF_PSEUDO_CALL) {
      mark(pc + (p.imm[pc] as number) + 1);
      mark(pc + 1);
    } else if (kind === 'jump' || kind === 'ja') {
      const t = jumpTarget(p, pc);
      if (t <= pc) mark(t);
    }
  }
  return entry;
}

/**
 * run(block, frame): the program function with the registers JavaScript left in the register file,
 * noting which program runs (tail-call.ts).
 */
function runBody(id: number): Uint8Array {
  const b = new Body();
  b.i32(0).i32(id).mem(W.I32_STORE, 2, MEM_CURRENT);
  b.get(0).get(1);
  for (const r of ALL_REGS) {
    b.i32(0).mem(W.I64_LOAD32_U, 2, MEM_LO + 4 * r);
    b.i32(0)
      .mem(W.I64_LOAD32_U, 2, MEM_HI + 4 * r)
      .i64(32, 0)
      .op(W.I64_SHL, W.I64_OR);
  }
  return b.call(Fn.Program).end().bytes();
}

/**
 * A local call, inside the module: the frame pushed where the other engines keep it (return pc, program,
 * r6-r9, r10: interpreter-ops.ts pushFrame), the depth cell raised, then the program function called
 * recursively at the target's block on the next frame's stack, with every register as the callee sees it
 * (r10 the new frame's top). Its `exit` returns here: r0-r5 come back through the register file, r6-r10
 * are this function's own, as the frame saved them. Anything else it returns (a fault exit, a bail to the
 * interpreter, a helper's stop or tail call) is passed on with the frames as they are, for JavaScript.
 */
function localCall(b: Body, p: LoadedProgram, pc: number, block: number): void {
  const depth = (): Body => b.get(L_FP).i32(MEM_STACKS).op(W.I32_SUB).i32(9).op(W.I32_SHR_U);
  if (STACK_SIZE !== 512) throw new Error('internal: the frame depth is the frame offset >> 9');
  depth()
    .tee(L_TI)
    .i32(MAX_CALL_FRAMES - 1)
    .op(W.I32_GE_U)
    .if()
    .leave(Exit.CallDepth, pc)
    .end();
  b.get(L_TI)
    .i32(FRAME_INTS * 4)
    .op(W.I32_MUL)
    .set(L_TJ);
  const field = (i: number, value: () => void): void => {
    b.get(L_TJ);
    value();
    b.mem(W.I32_STORE, 2, MEM_FRAMES + 4 * i);
  };
  field(0, () => b.i32(pc + 1));
  field(1, () => b.i32(p.id));
  for (let r = 6; r <= 9; r++) {
    field(2 * r - 10, () => b.get(reg(r)).op(W.I32_WRAP_I64));
    field(2 * r - 9, () => b.get(reg(r)).i64(32, 0).op(W.I64_SHR_U, W.I32_WRAP_I64));
  }
  field(10, () => b.get(reg(10)).op(W.I32_WRAP_I64));
  b.get(L_TI).i32(1).op(W.I32_ADD).set(L_TJ);
  b.i32(0).get(L_TJ).mem(W.I32_STORE, 2, MEM_DEPTH);
  b.i32(0).get(L_TJ).i32(0).mem(W.I32_LOAD, 2, MEM_MAX_DEPTH);
  b.get(L_TJ).i32(0).mem(W.I32_LOAD, 2, MEM_MAX_DEPTH).op(W.I32_GT_S, W.SELECT);
  b.mem(W.I32_STORE, 2, MEM_MAX_DEPTH);
  b.i32(0).get(L_BUDGET).mem(W.I32_STORE, 2, MEM_BUDGET);
  b.i32(block).get(L_FP).i32(STACK_SIZE).op(W.I32_ADD);
  for (let r = 0; r <= 9; r++) b.get(reg(r));
  b.get(L_TJ).i32(2).op(W.I32_SHL).mem(W.I64_LOAD32_U, 2, MEM_TOPS);
  b.call(Fn.Program).tee(L_TI).i32(7).op(W.I32_AND).if().get(L_TI).op(W.RETURN).end();
  b.reload([0, 1, 2, 3, 4, 5]);
  b.i32(0);
  depth().mem(W.I32_STORE, 2, MEM_DEPTH);
  b.takeBudget();
}

/** Whether `p` makes bpf-to-bpf calls (their frames' stacks are cleared by the engine, not the repeat loop). */
function hasLocalCalls(p: LoadedProgram): boolean {
  for (let pc = 0; pc < p.slots; pc++)
    if (SEMANTICS[p.code[pc] as number]?.kind === 'call' && p.src[pc] === BPF_PSEUDO_CALL) return true;
  return false;
}

/**
 * The bytes below the frame's top the program's own stores through r10 may write (WasmProgram.stackBytes,
 * helpers aside). A store through another register that lands in the frame raises MEM_CLEARS by what it
 * reaches (emit-memory.ts), which every run's start zeroes too.
 */
export function wasmStackBytes(p: LoadedProgram): number {
  let bytes = 0;
  for (let pc = 0; pc < p.slots; pc++) {
    // (atomics never write a frame in WebAssembly: only table regions, else the import, which tracks it)
    if (SEMANTICS[p.code[pc] as number]?.kind !== 'store') continue;
    if (p.dst[pc] !== 10) continue;
    const off = p.off[pc] as number;
    if (off < 0 && -off > bytes) bytes = Math.min(STACK_SIZE, -off);
  }
  return bytes;
}

/** Instructions in the slots [start, stop) (an lddw is one instruction in two slots). */
function instructionsIn(p: LoadedProgram, start: number, stop: number): number {
  let count = 0;
  for (let pc = start; pc < stop; pc += SEMANTICS[p.code[pc] as number]?.kind === 'lddw' ? 2 : 1) count++;
  return count;
}

/**
 * The budget checks of a program entered only at its start (no local calls, callbacks or indirect
 * calls) whose blocks form no cycle (what clang makes of a filter: backward jumps, if any, only reach
 * shared tails), or undefined for any other. Per block, the budget it must find to go on in
 * WebAssembly — the most instructions any path from its start can execute — where it checks (the first
 * block, and every block after a helper call, which may have charged the budget), and 0 where it only
 * charges its own instructions. Between two checks nothing else takes from the budget, so a block
 * without a check never finds it short; a run a check stops continues on the interpreter at that
 * block's start with the registers and the budget as they are, which then counts, and faults when it
 * runs out, exactly where it would have.
 */
function budgetChecks(p: LoadedProgram, starts: readonly number[], blockOf: Int32Array): Int32Array | undefined {
  const N = starts.length;
  const succ: number[][] = [];
  for (let k = 0; k < N; k++) {
    const start = starts[k] as number;
    const stop = k + 1 < N ? (starts[k + 1] as number) : p.slots;
    let last = start;
    for (let pc = start; pc < stop; pc += SEMANTICS[p.code[pc] as number]?.kind === 'lddw' ? 2 : 1) {
      last = pc;
      const kind = SEMANTICS[p.code[pc] as number]?.kind;
      if (kind === 'callx' || (kind === 'call' && p.src[pc] === BPF_PSEUDO_CALL)) return undefined;
      if (kind === 'lddw' && p.src[pc] === BPF_PSEUDO_FUNC) return undefined;
    }
    const kind = SEMANTICS[p.code[last] as number]?.kind;
    const next: number[] = [];
    if (kind !== 'ja' && kind !== 'exit' && k + 1 < N) next.push(k + 1);
    if (kind === 'jump' || kind === 'ja') {
      const t = jumpTarget(p, last);
      const j = t >= 0 && t < p.slots ? (blockOf[t] as number) : -1;
      if (j >= 0) next.push(j);
    }
    succ.push(next);
  }
  // the longest path from each block, depth first (state 1: on the path being walked, i.e. a cycle)
  const longest = new Int32Array(N);
  const state = new Uint8Array(N);
  const order: number[] = [];
  for (let root = 0; root < N; root++) {
    if (state[root] !== 0) continue;
    const walk: [number, number][] = [[root, 0]];
    state[root] = 1;
    while (walk.length > 0) {
      const top = walk[walk.length - 1] as [number, number];
      const k = top[0];
      const i = top[1];
      const next = succ[k] as number[];
      if (i < next.length) {
        top[1] = i + 1;
        const j = next[i] as number;
        if (state[j] === 1) return undefined;
        if (state[j] === 0) {
          state[j] = 1;
          walk.push([j, 0]);
        }
        continue;
      }
      walk.pop();
      state[k] = 2;
      order.push(k);
    }
  }
  for (const k of order) {
    let after = 0;
    for (const j of succ[k] as number[]) after = Math.max(after, longest[j] as number);
    const start = starts[k] as number;
    const stop = k + 1 < N ? (starts[k + 1] as number) : p.slots;
    longest[k] = Math.min(0x3fff_ffff, instructionsIn(p, start, stop) + after);
  }
  const checks = new Int32Array(N);
  for (let k = 0; k < N; k++) {
    const before = k === 0 ? 'call' : SEMANTICS[p.code[(starts[k] as number) - 1] as number]?.kind;
    if (before === 'call' || before === undefined) checks[k] = Math.max(1, longest[k] as number);
  }
  return checks;
}

/** Labels besides the blocks' own (numbered 0 to N - 1): the bail block, and the dispatch loop inside it. */
const BAIL = -1;
const DISPATCH = -2;

/** Where the blocks' labels open (labelLayout). */
interface LabelLayout {
  /** opens[b + 1]: the labels opened before block b's code (b = -1: before the dispatch), outermost first. */
  opens: number[][];
  /** Per block, whether it has a label (a forward jump or the dispatch enters it); it closes right before it. */
  labelled: Uint8Array;
}

/**
 * Where each block's label opens, as late as it can: a block that something enters other than by
 * falling through has a label, a WebAssembly `block` that ends right before it, which must enclose every
 * forward jump to it (and the dispatch's br_table, for an entry block). It opens before the first of
 * them, or earlier where it would otherwise cross another label (labels nest). Opening every label at
 * the top, as this layout first did, nests the function as deep as it has blocks (~330 for 1,000
 * instructions), and V8's baseline compiler pays for the depth: it compiled the function about twice
 * as slowly as the same code with a few levels (bench/compile.ts). Found by a walk from the last block to
 * the first, which keeps the labels open at each point on a stack: a label's opening point is reached
 * when it is on top and no jump before that point targets it.
 */
function labelLayout(
  p: LoadedProgram,
  starts: readonly number[],
  blockOf: Int32Array,
  entry: Uint8Array | undefined,
): LabelLayout {
  const N = starts.length;
  // the first block that jumps forward to each block (-1: the dispatch; N: none)
  const first = new Int32Array(N).fill(N);
  let k = -1;
  for (let pc = 0; pc < p.slots; pc++) {
    if ((blockOf[pc] as number) >= 0) k = blockOf[pc] as number;
    const kind = SEMANTICS[p.code[pc] as number]?.kind;
    if (kind === 'lddw') pc++;
    else if (kind === 'jump' || kind === 'ja') {
      const t = jumpTarget(p, pc);
      const j = t >= 0 && t < p.slots ? (blockOf[t] as number) : -1;
      if (j > k && k < (first[j] as number)) first[j] = k;
    }
  }
  if (entry !== undefined) for (let j = 0; j < N; j++) if (entry[j]) first[j] = -1;
  const opens: number[][] = [];
  for (let at = 0; at <= N; at++) opens.push([]);
  const stack: number[] = [];
  for (let at = N - 1; at >= -1; at--) {
    // (walking backwards: a label opened here, innermost first, then the label that closes here)
    const here = opens[at + 1] as number[];
    while (stack.length > 0 && (first[stack[stack.length - 1] as number] as number) >= at)
      here.push(stack.pop() as number);
    here.reverse();
    if (at >= 0 && (first[at] as number) < N) stack.push(at);
  }
  return { opens, labelled: Uint8Array.from(first, (f) => (f < N ? 1 : 0)) };
}

/** The labels open while the function is written, for the depth of a branch to one of them. */
class Labels {
  private readonly stack: number[] = [BAIL, DISPATCH];
  private readonly index: Int32Array;
  /** The most labels open at once, the bail block and the dispatch loop included. */
  deepest = 2;

  constructor(private readonly layout: LabelLayout) {
    this.index = new Int32Array(layout.labelled.length);
  }

  /** Open the labels that open before block k (-1: before the dispatch). */
  open(b: Body, k: number): void {
    for (const t of this.layout.opens[k + 1] as number[]) {
      b.op(W.BLOCK, W.VOID);
      this.index[t] = this.stack.length;
      this.stack.push(t);
    }
    if (this.stack.length > this.deepest) this.deepest = this.stack.length;
  }

  /** Close block k's label, if it has one (it is the innermost open: labelLayout nests them). */
  close(b: Body, k: number): void {
    if (!this.layout.labelled[k]) return;
    if (this.stack.pop() !== k) throw new Error(`internal: the label of block ${k} is not the innermost`);
    b.end();
  }

  /** The br depth of `label` from the current block's top level. */
  depth(label: number): number {
    const at = label === BAIL ? 0 : label === DISPATCH ? 1 : (this.index[label] as number);
    if (this.stack[at] !== label) throw new Error(`internal: a branch to block ${label}, whose label is not open`);
    return this.stack.length - 1 - at;
  }
}

/**
 * Block k: charge the budget, then its instructions. Code after a block's last jump falls into block k + 1.
 * `check`: -1 to test the budget after charging (any layout), else budgetChecks' figure (0: no test).
 */
function emitBlock(
  b: Body,
  sites: AccessSites,
  p: LoadedProgram,
  k: number,
  labels: Labels,
  start: number,
  stop: number,
  blockOf: Int32Array,
  check: number,
): void {
  let count = 0;
  // A block that jumps back to its own start (a tight loop) is wrapped in a WebAssembly loop, so that
  // jump is one br_if instead of a round through the dispatch's br_table. `x`: the extra label's depth.
  let selfLoop = false;
  for (let pc = start; pc < stop; pc += SEMANTICS[p.code[pc] as number]?.kind === 'lddw' ? 2 : 1) {
    count++;
    const kind = SEMANTICS[p.code[pc] as number]?.kind;
    if ((kind === 'jump' || kind === 'ja') && jumpTarget(p, pc) === start) selfLoop = true;
  }
  const x = selfLoop ? 1 : 0;
  if (selfLoop) b.op(W.LOOP, W.VOID);
  if (check < 0) {
    b.get(L_BUDGET).i32(count).op(W.I32_SUB).tee(L_BUDGET).i32(0).op(W.I32_LT_S).if();
    // (from inside the if and the self-loop, out to the bail block)
    b.get(L_BUDGET)
      .i32(count)
      .op(W.I32_ADD)
      .set(L_BUDGET)
      .i32(start)
      .set(L_TI)
      .br(labels.depth(BAIL) + 1 + x)
      .end();
  } else {
    if (check > 0)
      b.get(L_BUDGET)
        .i32(check)
        .op(W.I32_LT_S)
        .if()
        .i32(start)
        .set(L_TI)
        .br(labels.depth(BAIL) + 1 + x)
        .end();
    b.get(L_BUDGET).i32(count).op(W.I32_SUB).set(L_BUDGET);
  }

  /** Jump to `target` from the top level of block k (forward: a br; backward: through the dispatch). */
  const jump = (target: number, conditional: boolean): void => {
    const j = target < p.slots ? (blockOf[target] as number) : -1;
    if (j < 0) {
      // past the end: the interpreter's fall-through fault
      if (conditional) b.if();
      b.leave(Exit.FallThrough, p.slots);
      if (conditional) b.end();
    } else if (j > k) {
      b.u8(conditional ? W.BR_IF : W.BR).u32(labels.depth(j) + x);
    } else if (j === k && selfLoop) {
      b.u8(conditional ? W.BR_IF : W.BR).u32(0);
    } else {
      if (conditional) b.if();
      b.i32(j)
        .set(L_BLOCK)
        .br(labels.depth(DISPATCH) + x + (conditional ? 1 : 0));
      if (conditional) b.end();
    }
  };

  for (let pc = start; pc < stop; pc++) {
    const code = p.code[pc] as number;
    const sem = SEMANTICS[code];
    const dst = p.dst[pc] as number;
    const src = p.src[pc] as number;
    const off = p.off[pc] as number;
    const imm = p.imm[pc] as number;
    if (sem === undefined) throw new Error(`internal: no semantics for opcode ${code} at pc ${pc}`);
    switch (sem.kind) {
      case 'alu':
        emitAlu(b, code, dst, src, off, imm);
        break;
      case 'jump':
        emitCondition(b, code, dst, src, imm);
        jump(jumpTarget(p, pc), true);
        break;
      case 'ja':
        jump(jumpTarget(p, pc), false);
        break;
      case 'lddw':
        b.i64(imm, p.imm2[pc] as number).set(reg(dst));
        pc++;
        break;
      case 'load':
        emitLoad(b, sites, pc, dst, src, off, sem.size, sem.signed);
        break;
      case 'store':
        emitStore(b, sites, pc, dst, off, sem.size, () => {
          if (sem.fromImm) b.i64(imm, imm >> 31);
          else b.get(reg(src));
        });
        break;
      case 'atomic':
        emitAtomic(b, sites, pc, imm, sem.size, dst, src, off);
        break;
      case 'packet':
        emitPacketLoad(b, pc, sem.size, sem.indirect, src, imm);
        break;
      case 'call':
        if (src === BPF_PSEUDO_CALL) {
          localCall(b, p, pc, blockOf[pc + imm + 1] as number);
          break;
        }
        if (imm === MAP_LOOKUP_ELEM) emitMapLookup(b, () => helperCall(b, pc, imm));
        else if (imm === TAIL_CALL) emitTailCall(b, () => helperCall(b, pc, imm));
        else if (imm === SKB_LOAD_BYTES) emitSkbLoadBytes(b, () => helperCall(b, pc, imm));
        else if (imm === SKB_STORE_BYTES) emitSkbStoreBytes(b, () => helperCall(b, pc, imm));
        else if (imm === L3_CSUM_REPLACE || imm === L4_CSUM_REPLACE)
          emitCsumReplace(b, imm === L4_CSUM_REPLACE, () => helperCall(b, pc, imm));
        else if (QUICK_HELPERS.has(imm)) emitQuickHelper(b, pc, imm, () => helperCall(b, pc, imm));
        else if (!emitHashHelper(b, imm, () => helperCall(b, pc, imm))) helperCall(b, pc, imm);
        break;
      case 'callx':
        b.spill().i32(0).get(L_BUDGET).mem(W.I32_STORE, 2, MEM_BUDGET);
        b.i32(pc).i32(dst).call(Import.Callx);
        helperResult(b, pc);
        break;
      case 'exit':
        // r6-r10 of the frame it returns to are its own (a caller here, or popFrame's)
        b.spill([0, 1, 2, 3, 4, 5]).leave(Exit.Exit, pc);
        break;
    }
  }
  if (selfLoop) b.end();
}

/** Call helper `id` through the import: registers and budget handed over, then taken back. */
function helperCall(b: Body, pc: number, id: number): void {
  b.spill().i32(0).get(L_BUDGET).mem(W.I32_STORE, 2, MEM_BUDGET);
  b.i32(pc).i32(id).call(Import.Helper);
  helperResult(b, pc);
}

/** After a helper: take the budget back, leave if it stopped or switched the program, else reload r0. */
function helperResult(b: Body, pc: number): void {
  b.set(L_TI).takeBudget();
  b.get(L_TI).i32(-1).op(W.I32_NE).if();
  b.get(L_TI).if().leave(Exit.HelperSwitch, pc).else().leave(Exit.HelperDone, pc).end();
  b.end();
  b.reload([0]);
}
