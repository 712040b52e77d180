/**
 * The module's repeat loop: `repeat(n, frame)` runs the program from its start n times in a row, as
 * BPF_PROG_TEST_RUN's repeat does in the kernel — per run only what the kernel's loop does: the registers
 * taken from their starting image, the stack bytes the module's own stores may have written zeroed, the
 * whole budget, and the call into the program function. No JavaScript runs between the runs, so a
 * repetition costs what the program costs.
 *
 * Exactness: a run that leaves the module for anything but its final `exit` (a local call, a block the
 * budget cannot pay for, a helper that stopped or switched the program, a packet load outside the
 * packet) stops the loop with that result in MEM_PENDING, and the engine finishes the run in JavaScript
 * as it would have. A run that called into JavaScript at all (a store, atomic or helper through the
 * imports, which can write the stacks, move regions or the packet: engine.ts sets MEM_TOUCHED) stops the
 * loop after its exit, so the next run starts from JavaScript's full set-up (Vm's reset, the region,
 * packet and map tables). Runs that stay inside the module are the same runs the engine would make one
 * by one.
 */
import { STACK_SIZE } from '../../isa/index.js';
import {
  Body,
  Fn,
  MEM_BUDGET,
  MEM_CLEARS,
  MEM_CURRENT,
  MEM_FREE,
  MEM_HI,
  MEM_LO,
  MEM_MAPS,
  MEM_TAIL_COUNT,
} from './body.js';
import * as W from './opcodes.js';

/**
 * The register image every run starts from: r0-r10 as 11 little-endian i64s (writeRepeatStart), then
 * the tail-call cells' starting values (MEM_TAIL_COUNT, MEM_CURRENT: each run starts with no tail call
 * taken, in the program it was entered at).
 */
export const MEM_INIT = MEM_FREE;
/** Where the image keeps the tail-call cells (8 bytes, copied back to MEM_TAIL_COUNT before every run). */
const INIT_TAIL = MEM_INIT + 88;
/** Bytes of the image. */
export const INIT_BYTES = 128;
/** Each run's budget (i32). */
export const MEM_LIMIT = MEM_INIT + INIT_BYTES;
/** Set non-zero by the engine's imports that may write the stacks or change the memory layout. */
export const MEM_TOUCHED = MEM_LIMIT + 4;
/** The result of the run the loop stopped inside (run's `code | pc << 3`), or -1. */
export const MEM_PENDING = MEM_LIMIT + 8;
if (MEM_PENDING + 4 > MEM_MAPS || MEM_CURRENT !== MEM_TAIL_COUNT + 4)
  throw new Error('internal: the repeat loop cells overlap the map table');

/**
 * Before the loop: the register file as the image every run starts from (the registers as i64s, so
 * the loop hands them to the program function with one load each), the run's budget, and the cells
 * the loop reports through. `cells` is the whole linear memory as int32s.
 */
export function writeRepeatStart(cells: Int32Array, budget: number): void {
  const init = MEM_INIT >> 2;
  for (let r = 0; r < 11; r++) {
    cells[init + 2 * r] = cells[(MEM_LO >> 2) + r] as number;
    cells[init + 2 * r + 1] = cells[(MEM_HI >> 2) + r] as number;
  }
  cells[INIT_TAIL >> 2] = cells[MEM_TAIL_COUNT >> 2] as number;
  cells[(INIT_TAIL >> 2) + 1] = cells[MEM_CURRENT >> 2] as number;
  cells[MEM_LIMIT >> 2] = budget;
  cells[MEM_TOUCHED >> 2] = 0;
  cells[MEM_PENDING >> 2] = -1;
}

/** Parameters and locals of the loop function: n, frame (parameters), i, r. */
const N = 0;
const FRAME = 1;
const I = 2;
const R = 3;
const A = 4;

/** Locals beyond the parameters. */
export const REPEAT_LOCALS = [{ count: 3, type: W.I32 }] as const;

/**
 * Body of repeat(n i32, frame i32) -> i32: the number of runs completed (see the file comment). Run 0
 * starts from the state JavaScript set up; later ones zero the `stackBytes` below the frame's top (the
 * most the module's stores write, compile.ts). Every run enters the program function directly with the
 * image's registers (the register file is written only where the program spills it: at its exit, and
 * before it leaves the module or calls into JavaScript). With `once` (a program with local calls: the
 * callees' frames are the engine's to clear) it returns after each finished run, so every run starts
 * from the engine's full set-up.
 */
export function repeatBody(stackBytes: number, once: boolean): Uint8Array {
  const b = new Body();
  const clear = Math.min(STACK_SIZE, (stackBytes + 7) & ~7);
  b.op(W.LOOP, W.VOID);
  b.get(I).if();
  for (let at = STACK_SIZE - clear; at < STACK_SIZE; at += 8) b.get(FRAME).i64(0, 0).mem(W.I64_STORE, 3, at);
  // and what a store through another register than r10 reached beyond that (MEM_CLEARS, emit-memory.ts)
  b.i32(0).mem(W.I32_LOAD, 2, MEM_CLEARS).i32(clear).op(W.I32_GT_S).if();
  b.get(FRAME).i32(STACK_SIZE).op(W.I32_ADD).i32(0).mem(W.I32_LOAD, 2, MEM_CLEARS).op(W.I32_SUB).set(A);
  b.op(W.LOOP, W.VOID);
  b.get(A).i64(0, 0).mem(W.I64_STORE8, 0, 0);
  b.get(A)
    .i32(1)
    .op(W.I32_ADD)
    .tee(A)
    .get(FRAME)
    .i32(STACK_SIZE - clear)
    .op(W.I32_ADD)
    .op(W.I32_LT_U, W.BR_IF)
    .u32(0);
  b.end();
  b.end();
  b.end();
  b.i32(0).i32(0).mem(W.I32_LOAD, 2, MEM_LIMIT).mem(W.I32_STORE, 2, MEM_BUDGET);
  b.i32(0).i32(0).mem(W.I64_LOAD, 2, INIT_TAIL).mem(W.I64_STORE, 2, MEM_TAIL_COUNT);
  b.i32(0).get(FRAME);
  for (let r = 0; r < 11; r++) b.i32(0).mem(W.I64_LOAD, 3, MEM_INIT + 8 * r);
  b.call(Fn.Program).tee(R);
  // anything but an exit (code 0) at depth 0: leave it to the engine
  b.i32(7).op(W.I32_AND).if();
  b.i32(0).get(R).mem(W.I32_STORE, 2, MEM_PENDING);
  b.get(I).op(W.RETURN);
  b.end();
  b.get(I).i32(1).op(W.I32_ADD).set(I);
  if (once) b.get(I).op(W.RETURN);
  b.i32(0).mem(W.I32_LOAD, 2, MEM_TOUCHED).if();
  b.get(I).op(W.RETURN);
  b.end();
  b.get(I).get(N).op(W.I32_LT_S).op(W.BR_IF).u32(0);
  b.end();
  return b.get(I).end().bytes();
}
