/**
 * bpf_tail_call inside WebAssembly. Every program instance of a Vm puts its program function into one
 * shared table of function references, at the program's id; the prog arrays of the run's context are
 * mirrored into linear memory as those ids; and a tail call at depth 0 does the helper's checks
 * (helpers/misc-helpers.ts tailCall, interpreter-ops.ts callHelper) and then calls the target's function
 * through the table in place of its own (return_call_indirect), so a chain of stages never leaves the
 * module.
 *
 * What the target starts with is what the other engines give it: r0 = 0 (the helper's return value),
 * r1-r10 as they were at the call, the same frame with its bytes, block 0 of the target, the budget as
 * the call left it. The checks, in the helper's order: r2 the handle of a prog array (else the helper,
 * which answers -EINVAL), the index (r3's low half) below max_entries, the slot naming a program, the
 * MAX_TAIL_CALLS limit — each failure r0 = -ENOENT and the program goes on; then the count (MEM_TAIL_COUNT,
 * which HelperCall.tailCalls is handed to and taken from around every stay in the module) goes up.
 *
 * What goes through the helper instead, with the same results: a tail call at a depth above 0 (inside
 * a local call or a callback: its frames belong to JavaScript's loop), a prog array that is not
 * mirrored (its handle beyond TAIL_HANDLES, more than MAX_MIRRORED entries, no room in linear memory),
 * a slot whose program the module cannot call (not of this Vm, or refused by the wasm engine), and any
 * Vm whose helper 12 is not bpf_tail_call.
 *
 * The mirror is compared with the prog array's slots (and rewritten when they differ or the run context
 * is another) whenever JavaScript enters the module and after every helper the module calls, so updates
 * from userspace or from map_delete_elem are seen as the helper would see them. MEM_CURRENT tells
 * JavaScript which program a result it gets back belongs to (engine.ts).
 */
import { FdArrayMap } from '../maps/fd-array.js';
import { MapType } from '../../uapi/types.js';
import { MAX_TAIL_CALLS } from '../helper-abi.js';
import { tailCall } from '../helpers/misc-helpers.js';
import { LoadedProgram } from '../interpreter-program.js';
import type { EngineState } from '../interpreter-state.js';
import type { RunContext } from '../contexts/run-context.js';
import { VmError, inProgram } from '../vm-error.js';
import {
  Body,
  L_BUDGET,
  L_FP,
  L_TI,
  L_TJ,
  MEM_BUDGET,
  MEM_CLEARS,
  MEM_CURRENT,
  MEM_STACKS,
  MEM_TAIL_COUNT,
  MEM_TAIL_DIR,
  PROGRAM_PARAMS,
  TAIL_HANDLES,
  reg,
} from './body.js';
import { MEM_TOUCHED } from './repeat-loop.js';
import { wasmApi, type WasmTable } from './runtime.js';
import type { WasmShared } from './shared.js';
import { writeModule, type FuncType } from './module-writer.js';
import * as W from './opcodes.js';

/** The helper's number. */
export const TAIL_CALL = 12;
const ENOENT = 2;
/** Largest prog array mirrored (its entries); a bigger one goes through the helper. */
export const MAX_MIRRORED = 1024;

/** The program function's signature: type 0 of every module (call_indirect names it). */
export const PROGRAM_TYPE: FuncType = { params: PROGRAM_PARAMS, results: [W.I32] };

/** One prog array mirrored in linear memory: [max_entries, then per slot: program id + 1 (0: empty, -1: the helper's), stack bytes]. */
interface Mirror {
  map: FdArrayMap;
  /** Its first cell (WasmShared.cells index). */
  cell: number;
  /** The slots as last written. */
  shadow: Uint32Array;
}

/** A Vm's tail-call state (WasmShared.tail). */
export interface TailState {
  table: WasmTable;
  /** The run context the directory was written for, and whether helper 12 was bpf_tail_call then. */
  rc: unknown;
  on: boolean;
  mirrors: Mirror[];
  /** Each map's mirror once allocated (linear offset; -1: no room). */
  placed: Map<FdArrayMap, number>;
  /** Program functions put into `table` so far (packet-batch.ts mirrors each into its own table). */
  registered: number;
  /** packet-batch.ts's state for this Vm, once made. */
  batch: unknown;
}

/** The Vm's tail-call state, made on first use (its table is every module's import "env.table"). */
export function tailState(w: WasmShared): TailState {
  let t = w.tail as TailState | undefined;
  if (t === undefined) {
    t = {
      table: new wasmApi!.Table({ initial: 0, element: 'anyfunc' }),
      rc: undefined,
      on: false,
      mirrors: [],
      placed: new Map(),
      registered: 0,
      batch: undefined,
    };
    w.tail = t;
  }
  return t;
}

/** Put a program's function into the table at its id (instances are made once per program). */
export function registerProgram(t: TailState, id: number, fn: unknown): void {
  const table = t.table;
  if (table.length <= id) table.grow(id + 1 - table.length);
  table.set(id, fn);
  t.registered++;
}

/** How a tail-call target runs: its stack bytes, or undefined when the module cannot call it. */
export type TargetOf = (st: EngineState, w: WasmShared, p: LoadedProgram) => number | undefined;

/**
 * Bring the directory and the mirrors up to date for the run's context (see the file comment); also
 * hands the module the run's tail-call count.
 */
export function syncTails(st: EngineState, w: WasmShared, t: TailState, targetOf: TargetOf): void {
  const cells = w.cells;
  cells[MEM_TAIL_COUNT >> 2] = st.call.tailCalls;
  const rc = st.call.context;
  const on = st.helpers.fn(TAIL_CALL) === tailCall;
  if (rc !== t.rc || on !== t.on) {
    t.rc = rc;
    t.on = on;
    rebuild(st, w, t, on ? (rc as RunContext | undefined) : undefined, targetOf);
    return;
  }
  const ms = t.mirrors;
  for (let i = 0; i < ms.length; i++) {
    const m = ms[i] as Mirror;
    const slots = m.map.slots;
    const shadow = m.shadow;
    for (let k = 0; k < slots.length; k++)
      if (slots[k] !== shadow[k]) {
        writeMirror(st, w, m, rc as RunContext, targetOf);
        break;
      }
  }
}

function rebuild(st: EngineState, w: WasmShared, t: TailState, rc: RunContext | undefined, targetOf: TargetOf): void {
  const cells = w.cells;
  const dir = MEM_TAIL_DIR >> 2;
  t.mirrors = [];
  // (a Vm used on its own may carry any helper context, or none)
  const maps = rc?.maps;
  const known = Array.isArray(maps) && Array.isArray(rc?.programs);
  for (let h = 0; h < TAIL_HANDLES; h++) {
    cells[dir + h] = 0;
    const m = known ? maps[h] : undefined;
    if (!(m instanceof FdArrayMap) || m.type !== MapType.PROG_ARRAY || m.maxEntries > MAX_MIRRORED) continue;
    let lin = t.placed.get(m);
    if (lin === undefined) {
      const bytes = st.mem.allocate(4 + 8 * m.maxEntries);
      lin = bytes.buffer === w.buffer ? bytes.byteOffset : -1;
      t.placed.set(m, lin);
    }
    if (lin < 0) continue;
    const mirror = { map: m, cell: lin >> 2, shadow: new Uint32Array(m.maxEntries) };
    cells[mirror.cell] = m.maxEntries;
    writeMirror(st, w, mirror, rc as RunContext, targetOf);
    t.mirrors.push(mirror);
    cells[dir + h] = lin;
  }
}

/** Write every slot of a mirror from its prog array. */
function writeMirror(st: EngineState, w: WasmShared, m: Mirror, rc: RunContext, targetOf: TargetOf): void {
  const cells = w.cells;
  const slots = m.map.slots;
  for (let k = 0; k < slots.length; k++) {
    const handle = slots[k] as number;
    m.shadow[k] = handle;
    const c = m.cell + 1 + 2 * k;
    const target = handle ? rc.programs[handle] : undefined;
    // (the helper answers -ENOENT for an empty slot and for a handle that names no program)
    if (target === undefined || target === null) {
      cells[c] = 0;
      continue;
    }
    const stack =
      target instanceof LoadedProgram && st.programs[target.id] === target ? targetOf(st, w, target) : undefined;
    cells[c] = stack === undefined ? -1 : (target as LoadedProgram).id + 1;
    cells[c + 1] = stack ?? 0;
  }
}

/** Emit the call at its site; `slow` emits the helper call through the import. */
export function emitTailCall(b: Body, slow: () => void): void {
  b.op(W.BLOCK, W.VOID).op(W.BLOCK, W.VOID).op(W.BLOCK, W.VOID); // out, slow, enoent
  // at depth 0
  b.get(L_FP).i32(MEM_STACKS).op(W.I32_NE, W.BR_IF).u32(1);
  // r2: the handle of a mirrored prog array
  b.get(reg(2)).i64(TAIL_HANDLES, 0).op(W.I64_GE_U, W.BR_IF).u32(1);
  b.get(reg(2)).op(W.I32_WRAP_I64).i32(2).op(W.I32_SHL).mem(W.I32_LOAD, 2, MEM_TAIL_DIR).tee(L_TI);
  b.op(W.I32_EQZ, W.BR_IF).u32(1);
  // r3's low half: an index below max_entries
  b.get(reg(3)).op(W.I32_WRAP_I64).tee(L_TJ).get(L_TI).mem(W.I32_LOAD, 2, 0).op(W.I32_GE_U, W.BR_IF).u32(0);
  // the slot: a program (id + 1), empty (0) or one the helper must handle (-1)
  b.get(L_TI).get(L_TJ).i32(3).op(W.I32_SHL, W.I32_ADD).tee(L_TI).mem(W.I32_LOAD, 2, 4).tee(L_TJ);
  b.op(W.I32_EQZ, W.BR_IF).u32(0);
  b.get(L_TJ).i32(-1).op(W.I32_EQ, W.BR_IF).u32(1);
  // the chain's limit, then one more tail call
  b.i32(0).mem(W.I32_LOAD, 2, MEM_TAIL_COUNT).i32(MAX_TAIL_CALLS).op(W.I32_GE_S, W.BR_IF).u32(0);
  b.i32(0).i32(0).mem(W.I32_LOAD, 2, MEM_TAIL_COUNT).i32(1).op(W.I32_ADD).mem(W.I32_STORE, 2, MEM_TAIL_COUNT);
  // stack bytes the target's stores reach beyond what the next run's start clears (skb-load-bytes.ts)
  b.get(L_TI).mem(W.I32_LOAD, 2, 8).i32(0).mem(W.I32_LOAD, 2, MEM_CLEARS).op(W.I32_GT_S).if();
  b.i32(0).get(L_TI).mem(W.I32_LOAD, 2, 8).mem(W.I32_STORE, 2, MEM_CLEARS);
  b.i32(0).i32(1).mem(W.I32_STORE, 2, MEM_TOUCHED);
  b.end();
  b.i32(0).get(L_TJ).i32(1).op(W.I32_SUB).tee(L_TJ).mem(W.I32_STORE, 2, MEM_CURRENT);
  b.i32(0).get(L_BUDGET).mem(W.I32_STORE, 2, MEM_BUDGET);
  // the target at its block 0, on this frame, r0 = 0 and r1-r10 as they are
  b.i32(0).get(L_FP).i64(0, 0);
  for (let r = 1; r <= 10; r++) b.get(reg(r));
  b.get(L_TJ);
  if (returnCalls()) b.op(W.RETURN_CALL_INDIRECT).u32(0).u32(0);
  else b.op(W.CALL_INDIRECT).u32(0).u32(0).op(W.RETURN);
  b.end();
  // -ENOENT: the program goes on
  b.i64(-ENOENT, -1).set(reg(0));
  b.br(1).end();
  slow();
  b.end();
}

let returnCallSupport: boolean | undefined;

/**
 * Whether this WebAssembly engine takes return_call_indirect (the tail-call extension: V8 11.2+, i.e.
 * Node 20 and current browsers). Without it a tail call is call_indirect + return, which nests at
 * most MAX_TAIL_CALLS deep. (The module cache keys on the answer only for programs with a tail-call site,
 * module-cache.ts codegenInput: code that asks it elsewhere must change that too; test/vm/module-cache checks.)
 */
export function returnCalls(): boolean {
  if (returnCallSupport === undefined) {
    const t: FuncType = { params: [], results: [] };
    const body = new Body().i32(0).op(W.RETURN_CALL_INDIRECT).u32(0).u32(0).end().bytes();
    try {
      new wasmApi!.Module(
        writeModule({
          types: [t],
          table: { module: 'env', name: 'table', min: 0 },
          imports: [],
          funcs: [{ type: t, locals: [], body }],
        }),
      );
      returnCallSupport = true;
    } catch {
      returnCallSupport = false;
    }
  }
  return returnCallSupport;
}

/**
 * A VmError thrown while the module ran the program a tail call switched to names that program, as
 * the other engines' would (Vm's own naming uses the program the run entered at).
 */
export function nameTarget(err: unknown, st: EngineState, w: WasmShared, entered: LoadedProgram): unknown {
  const cur = w.cells[MEM_CURRENT >> 2] as number;
  if (cur === entered.id || !(err instanceof VmError) || err.program !== undefined || err.pc < 0) return err;
  const p = st.programs[cur];
  return p === undefined ? err : inProgram(err, p);
}
