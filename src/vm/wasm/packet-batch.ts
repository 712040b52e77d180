/**
 * The engine's side of the packet loop (packet-loop.ts): hand the module a batch of records and take back
 * how many runs finished. The loop runs in a second instance of the program's module whose imports first
 * bring JavaScript's per-run state up to the record the loop is on (PacketBatch.sync), so a helper, a
 * load through JavaScript or a fault sees that record's packet and __sk_buff, and everything reported
 * before it has been reported. Every program of the Vm gets such an instance, in a table of their own, so a
 * tail call inside the loop lands in one whose imports sync too. Vm.runPackets wraps it (a run the loop
 * stopped inside is finished there).
 */
import { REGION_BYTES, REGION_SLOTS, MEM_CLEARS, MEM_CURRENT, MEM_REGIONS } from './body.js';
import { nameTarget, tailState } from './tail-call.js';
import { SLOT_B, SLOT_COUNT, SLOT_D, SLOT_M, SLOT_ROOM_WRITE } from './regions.js';
import { IMPORT_NAMES } from './compile.js';
import { enter, wasmInstance, type Instance } from './engine.js';
import {
  C_CTX,
  C_CTX_ADDR,
  C_DIRTY,
  C_PB_CAP,
  DIRTY_CONTEXT,
  DIRTY_PACKET,
  C_LEAN,
  C_LIMIT,
  C_PB,
  C_PB_BASE,
  C_PROG,
  C_RECORDS,
  C_REGION,
  C_SCRUBS,
  C_STOP,
  C_TOP,
  C_WRITABLE,
  LEAN,
  LEAN_COMPARE,
  LEAN_CONTEXT,
  RECORD_BYTES,
} from './packet-loop.js';
import { SKB_STORE_BYTES } from './skb-store-bytes.js';
import { STACK_SIZE } from '../../isa/index.js';
import { SKB_SIZE } from '../contexts/skb.js';
import { HelperAction } from '../helper-abi.js';
import { MEM_PENDING, MEM_TOUCHED } from './repeat-loop.js';
import { BUDGET_CELL, enterModule, leaveModule, type WasmShared } from './shared.js';
import { wasmApi, type WasmTable } from './runtime.js';
import type { EngineState } from '../interpreter-state.js';
import type { LoadedProgram } from '../interpreter-program.js';

/** A batch of records in linear memory, as its owner (VmProgram.runPackets) lays it out. */
export interface PacketBatch {
  /** Linear address of the control block (packet-loop.ts C_*), a multiple of 4. */
  readonly ctl: number;
  /** The record JavaScript's per-run state is that of (-1: none). */
  synced: number;
  /** Make JavaScript's per-run state that of record `k` (and report the finished records before it). */
  sync(k: number): void;
  /**
   * After an import returned: can the loop go on to the next record from what JavaScript's state is now
   * (the packet buffer where the block says, the packet where the loop put it, no verdicts)?
   */
  settled(): boolean;
}

/** A program's loop instance (Instance.batch). */
interface BatchInstance {
  packets: (ctl: number, from: number, n: number) => number;
}

/** What the loop instances' imports look at: the batch they sync for (set only while a loop runs). */
interface BatchState {
  batch: PacketBatch | undefined;
  /** The stack bytes the running loop zeroes per record (its entry program's packet-loop.ts clear). */
  cleared: number;
  /** Stores and atomics through the imports that lean mode made cross: into the packet buffer, into the context. */
  packetStores: number;
  contextStores: number;
  /** The context's region-table slot was writable when the loop started (lean mode closed it). */
  contextOpen: boolean;
}

/**
 * A Vm's loop instances (TailState.batch). A tail call inside the loop must land in the target's loop
 * instance, whose imports sync the record too, so they have a table of their own: every program's loop
 * instance at the program's id, as tail-call.ts's table holds the ordinary ones (the same mirror of the
 * prog arrays names both).
 */
interface BatchShared {
  table: WasmTable;
  /** TailState.registered when every registered program last had its loop instance here. */
  registered: number;
  state: BatchState;
  /**
   * Per program id, how far its loop steps down from lean mode (see wasmPackets): 0 or absent, LEAN and
   * LEAN_CONTEXT; 1, LEAN alone; 2, neither.
   */
  leanStep: Map<number, number>;
}

/** Budgets past this do not fit the module's i32 counter (engine.ts BUDGET_CAP). */
const BUDGET_CAP = 0x3fff_ffff;

/**
 * Run records from..n-1 of `batch` in `p`'s module loop, the first from the state Vm's reset just set up:
 * returns how many finished, or -1 when `p` cannot loop (not compiled yet, or the packet buffer is not in
 * the region table). A run the loop stopped inside is left in MEM_PENDING for wasmResume. Tail calls stay
 * in the loop: each record starts in `p` with none taken, and a target runs in its own loop instance.
 */
export function wasmPackets(st: EngineState, p: LoadedProgram, batch: PacketBatch, from: number, n: number): number {
  const w = st.wasm;
  const c = wasmInstance(p);
  if (w === undefined || c === undefined || c.blockOf[0] !== 0 || st.budget > BUDGET_CAP || st.depth !== 0) return -1;
  if (st.lo[10] !== st.stackTops[0] || st.hi[10] !== 0) return -1;
  // (the tables current: this may compile tail-call targets, whose loop instances come next)
  enter(st, w, c);
  const cells = w.cells;
  const ctl = batch.ctl >> 2;
  // the packet buffer's entry in the region table (a plain region at its base, over its bytes)
  const base = cells[ctl + C_PB_BASE / 4];
  const lin = cells[ctl + C_PB / 4];
  let slot = -1;
  for (let k = 0; k < REGION_SLOTS && slot < 0; k++) {
    const e = (MEM_REGIONS + k * REGION_BYTES) >> 2;
    if (packetSlot(cells, e, base as number, lin as number) && (cells[e + SLOT_COUNT / 4] as number) > 0) slot = e;
  }
  if (slot < 0) return -1;
  const bs = batchShared(w);
  if (tailState(w).registered !== bs.registered) fillBatch(st, w, bs);
  const bi = c.batch as BatchInstance | undefined;
  if (bi === undefined) return -1;
  cells[ctl + C_REGION / 4] = slot * 4;
  // Lean mode (packet-loop.ts LEAN, LEAN_CONTEXT) unless this program stepped down from it: one that
  // stores into its packet or context would pay an import for every such store.
  const step = bs.leanStep.get(p.id) ?? 0;
  const lean = step < 2;
  cells[ctl + C_WRITABLE / 4] = !lean && cells[slot + SLOT_ROOM_WRITE / 4] !== 0 ? 1 : 0;
  cells[ctl + C_LEAN / 4] = lean
    ? LEAN | (step === 0 ? LEAN_CONTEXT : 0) | (writesFrameInline(st) ? LEAN_COMPARE : 0)
    : 0;
  cells[ctl + C_DIRTY / 4] = DIRTY_PACKET | DIRTY_CONTEXT;
  cells[ctl + C_SCRUBS / 4] = 0;
  bs.state.contextOpen = false;
  for (let k = 0; k < REGION_SLOTS; k++) {
    const e = (MEM_REGIONS + k * REGION_BYTES) >> 2;
    const ctxLin = cells[ctl + C_CTX / 4] as number;
    if (packetSlot(cells, e, cells[ctl + C_CTX_ADDR / 4] as number, ctxLin) && cells[e + SLOT_ROOM_WRITE / 4] !== 0)
      bs.state.contextOpen = true;
  }
  if (lean) closeWrites(cells, batch.ctl);
  cells[ctl + C_LIMIT / 4] = st.budget;
  cells[ctl + C_TOP / 4] = st.stackTops[0] as number;
  cells[ctl + C_STOP / 4] = 0;
  cells[ctl + C_PROG / 4] = p.id;
  cells[MEM_TOUCHED >> 2] = 0;
  cells[MEM_PENDING >> 2] = -1;
  // (the loop notes p as each record's program; a run it stops inside a tail-call target is handed to
  // that program's engine by drive, engine.ts)
  cells[MEM_CURRENT >> 2] = p.id;
  w.extra = 0;
  bs.state.cleared = Math.min(STACK_SIZE, (c.stackBytes + 7) & ~7);
  bs.state.batch = batch;
  bs.state.packetStores = bs.state.contextStores = 0;
  enterModule(st, w);
  let done: number;
  try {
    done = bi.packets(batch.ctl, from, n);
  } catch (err) {
    // (a fault inside a tail-call target names it, as on the other engines)
    throw nameTarget(err, st, w, p);
  } finally {
    bs.state.batch = undefined;
    // (the table as Memory has it at the next entry: writable where the packet and context are)
    if (lean) w.epoch = -1;
  }
  // stores lean mode made cross into JavaScript: into the packet, no lean mode next time; into a
  // context the table had writable, the context left open; mostly dirty records: lean mode buys nothing
  if (lean && (bs.state.packetStores !== 0 || ((cells[ctl + C_SCRUBS / 4] as number) - 1) * 4 > done))
    bs.leanStep.set(p.id, 2);
  else if (step === 0 && bs.state.contextStores !== 0) bs.leanStep.set(p.id, 1);
  leaveModule(st, w);
  st.budget = (cells[BUDGET_CELL] as number) + w.extra;
  loopStats.records += done;
  if (lean) loopStats.lean += done;
  return done;
}

/**
 * Records the module's loop has finished since the process started: a path that silently fell back to
 * one run per packet gives the same results, so tests read this to see the loop really ran (`lean`: of
 * those, the records run in lean mode, packet-loop.ts LEAN).
 */
export const loopStats = { records: 0, lean: 0 };

/** Whether the last wasmPackets stopped inside a run (wasmResume finishes it). */
export function wasmPacketPending(st: EngineState): boolean {
  const w = st.wasm;
  return w !== undefined && (w.cells[MEM_PENDING >> 2] as number) >= 0;
}

/** Write the retval of record `k`'s run, finished in JavaScript, into its table entry (as the loop does). */
export function noteRetval(st: EngineState, batch: PacketBatch, k: number): void {
  st.wasm!.cells[(batch.ctl + C_RECORDS + k * RECORD_BYTES + 8) >> 2] = st.lo[0] as number;
}

/** The Vm's loop state, made on first use. */
function batchShared(w: WasmShared): BatchShared {
  const t = tailState(w);
  let bs = t.batch as BatchShared | undefined;
  if (bs === undefined) {
    bs = {
      table: new wasmApi!.Table({ initial: 0, element: 'anyfunc' }),
      registered: -1,
      state: { batch: undefined, cleared: 0, packetStores: 0, contextStores: 0, contextOpen: false },
      leanStep: new Map(),
    };
    t.batch = bs;
  }
  return bs;
}

/**
 * Give every program that runs as WebAssembly its loop instance, in the loop's table at its id: a tail
 * call the mirror allows (tail-call.ts: only to programs in tail-call.ts's table) then always finds one.
 */
function fillBatch(st: EngineState, w: WasmShared, bs: BatchShared): void {
  const table = bs.table;
  for (const q of st.programs) {
    const c = q === undefined ? undefined : wasmInstance(q);
    if (c === undefined || c.batch !== undefined) continue;
    const fn = batchInstance(st, c, w, bs);
    if (table.length <= q.id) table.grow(q.id + 1 - table.length);
    table.set(q.id, fn);
  }
  bs.registered = tailState(w).registered;
}

/**
 * The loop's own instance of `c`'s module: the same imports, each first syncing the batch's record and
 * afterwards stopping the loop after this run when it left state the loop does not reset per record.
 * Sets c.batch; returns its program function (for the loop's table).
 */
function batchInstance(st: EngineState, c: Instance, w: WasmShared, bs: BatchShared): unknown {
  const state = bs.state;
  const cells = w.cells;
  const M = st.mem;
  const call = st.call;
  const tails = tailState(w);
  const settled = (b: PacketBatch): boolean => {
    if (
      w.dirtyAll ||
      w.dirty > Math.max(state.cleared, cells[MEM_CLEARS >> 2] as number) ||
      M.epoch !== w.mapsEpoch ||
      M.epoch !== w.epoch
    )
      return false;
    // (the tail-call count is the loop's to reset per record)
    if (call.action !== HelperAction.None || st.hostReturn || st.depth !== 0) return false;
    const ctl = b.ctl >> 2;
    const slot = (cells[ctl + C_REGION / 4] as number) >> 2;
    if (!packetSlot(cells, slot, cells[ctl + C_PB_BASE / 4] as number, cells[ctl + C_PB / 4] as number)) return false;
    return b.settled();
  };
  // What an import may write, for the loop's next record (packet-loop.ts C_DIRTY): a store or atomic
  // into the context only the context; anything else, both.
  const dirtied = (b: PacketBatch, lo: number, hi: number, off: number): number => {
    const ctl = b.ctl >> 2;
    const at = (lo + off) >>> 0;
    const ctxAddr = cells[ctl + C_CTX_ADDR / 4] as number;
    if (hi === 0 && at >= ctxAddr && at < ctxAddr + SKB_SIZE) {
      if (state.contextOpen) state.contextStores++;
      return DIRTY_CONTEXT;
    }
    const base = cells[ctl + C_PB_BASE / 4] as number;
    if (hi === 0 && at >= base && at < base + (cells[ctl + C_PB_CAP / 4] as number)) state.packetStores++;
    return DIRTY_PACKET | DIRTY_CONTEXT;
  };
  const before = (b: PacketBatch, kind: number, x: number, y: number, z: number): void => {
    // (st*: x, y, z the address's halves and the offset; atomic: y the register, z the offset)
    const dirty =
      kind === STORE
        ? dirtied(b, x, y, z)
        : kind === ATOMIC
          ? dirtied(b, st.lo[y] as number, st.hi[y] as number, z)
          : DIRTY_PACKET | DIRTY_CONTEXT;
    const at = (b.ctl + C_DIRTY) >> 2;
    cells[at] = (cells[at] as number) | dirty;
    const k = cells[b.ctl >> 2] as number;
    if (k !== b.synced) b.sync(k);
  };
  const after = (b: PacketBatch): void => {
    // (a helper's mirror update may have compiled a new tail-call target: it needs its loop instance
    // before the module can call it)
    if (tails.registered !== bs.registered) fillBatch(st, w, bs);
    if (!settled(b)) cells[(b.ctl + C_STOP) >> 2] = 1;
    // (the helper may have rewritten the region table: the packet and context stay closed to stores)
    if (((cells[(b.ctl + C_LEAN) >> 2] as number) & LEAN) !== 0) closeWrites(cells, b.ctl);
  };
  const env: Record<string, unknown> = { memory: w.memory, table: bs.table };
  for (const name of IMPORT_NAMES)
    env[name] = wrap(c.env[name] as Import, state, before, after, IMPORT_KIND.get(name) ?? OTHER);
  // (a failing quick helper leaves the record as any import may: both dirty, JavaScript synced)
  env.quick = wrapQuick(c.env.quick as Import, state, (b) => before(b, OTHER, 0, 0, 0));
  const instance = new wasmApi!.Instance(c.module, { env });
  c.batch = { packets: instance.exports.packets as BatchInstance['packets'] } satisfies BatchInstance;
  return instance.exports.program;
}

/** The imports whose writes the loop can place (see batchInstance's dirtied): stores, atomics; the others. */
const STORE = 1;
const ATOMIC = 2;
const OTHER = 0;
const IMPORT_KIND = new Map([
  ['st8', STORE],
  ['st16', STORE],
  ['st32', STORE],
  ['st64', STORE],
  ['atomic', ATOMIC],
]);

/** An import: up to six int32 arguments. */
type Import = (a?: number, b?: number, c?: number, d?: number, e?: number, f?: number) => unknown;

/** `f` with `before` and `after` around it while a batch runs (fixed arity: nothing allocated per call). */
function wrap(
  f: Import,
  state: BatchState,
  before: (b: PacketBatch, kind: number, x: number, y: number, z: number) => void,
  after: (b: PacketBatch) => void,
  kind: number,
): Import {
  return (a?: number, b?: number, c?: number, d?: number, e?: number, g?: number): unknown => {
    const batch = state.batch;
    if (batch === undefined) return f(a, b, c, d, e, g);
    // (st*: lo, hi, off; atomic: pc, op, size, register, src, off)
    if (kind === ATOMIC) before(batch, kind, 0, d as number, g as number);
    else before(batch, kind, a as number, b as number, c as number);
    const r = f(a, b, c, d, e, g);
    after(batch);
    return r;
  };
}

/**
 * The quick import (quick-helpers.ts) in a batch: the stock clocks, CPU number and random number read no
 * per-record state and leave nothing the loop checks afterwards, so they run without the record's sync —
 * except when one fails: JavaScript's state is then made the record's before the error goes out, as
 * around any other import. (A clock read per packet, synced and checked, cost ~110 ns a record.)
 */
function wrapQuick(f: Import, state: BatchState, before: (b: PacketBatch) => void): Import {
  return (a?: number, b?: number): unknown => {
    try {
      return f(a, b);
    } catch (err) {
      const batch = state.batch;
      if (batch !== undefined) before(batch);
      throw err;
    }
  };
}

/**
 * Whether the region-table slot at cell `e` (regions.ts) describes the packet buffer: a plain region
 * (no tag, one element) at VM address `base` whose bytes start at linear offset `lin`.
 */
function packetSlot(cells: Int32Array, e: number, base: number, lin: number): boolean {
  return (
    cells[e + SLOT_B / 4] === base &&
    cells[e + SLOT_B / 4 + 1] === 0 &&
    cells[e + SLOT_M / 4 + 1] === 0 &&
    cells[e + SLOT_D / 4] === ((lin - base) | 0)
  );
}

/**
 * Lean mode: make every region-table slot of the packet buffer or the __sk_buff read-only, so a store of
 * the module's own into either goes through an import (which marks the record dirty). The loop keeps
 * the packet's slot so per record; this covers the context's, and a table a helper rewrote.
 */
function closeWrites(cells: Int32Array, ctlAt: number): void {
  const ctl = ctlAt >> 2;
  const pb = cells[ctl + C_PB / 4] as number;
  const pbBase = cells[ctl + C_PB_BASE / 4] as number;
  const ctx = cells[ctl + C_CTX / 4] as number;
  const ctxAddr = cells[ctl + C_CTX_ADDR / 4] as number;
  const context = ((cells[ctl + C_LEAN / 4] as number) & LEAN_CONTEXT) !== 0;
  for (let k = 0; k < REGION_SLOTS; k++) {
    const e = (MEM_REGIONS + k * REGION_BYTES) >> 2;
    if (packetSlot(cells, e, pbBase, pb) || (context && packetSlot(cells, e, ctxAddr, ctx)))
      cells.fill(0, e + SLOT_ROOM_WRITE / 4, e + SLOT_ROOM_WRITE / 4 + 4);
  }
}

/** The helpers the module runs inline that write the frame's bytes (skb-store-bytes.ts, csum-replace.ts). */
const FRAME_WRITERS: ReadonlySet<number> = new Set([SKB_STORE_BYTES, 10, 11]);
const BPF_CALL = 0x85;
const framesWritten = new WeakMap<LoadedProgram, boolean>();

/** Whether some program of the Vm (a tail call may reach any) calls a helper that writes the frame inline. */
function writesFrameInline(st: EngineState): boolean {
  for (const q of st.programs) {
    if (q === undefined) continue;
    let v = framesWritten.get(q);
    if (v === undefined) {
      v = false;
      for (let pc = 0; pc < q.slots && !v; pc++)
        v = q.code[pc] === BPF_CALL && q.src[pc] === 0 && FRAME_WRITERS.has(q.imm[pc] as number);
      framesWritten.set(q, v);
    }
    if (v) return true;
  }
  return false;
}
