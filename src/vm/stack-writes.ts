/**
 * What the 'jit' engine's runs may have written of the stacks, so that Vm's per-run reset zeroes only
 * that instead of all eight frames' 4 KiB (which cost more than many programs' whole run). The rule is
 * the 'wasm' engine's (wasm/shared.ts clearStacks), made exact for the JIT's own paths:
 * - a store or atomic at r10 + off with off in [-512, 0) writes at most -off bytes below the top of the
 *   frame it runs in: the program's static figure (programStackWrites), noted when the program is entered;
 * - any other store that reaches a stack (through another register, or r10 with an offset outside its
 *   frame) is seen on its checked path: the JIT's store cache miss and the atomics mark the stacks as
 *   wholly written, and a store whose cache then points at a stack keeps them so (`stackStoresCached`),
 *   since its later hits are not seen;
 * - a helper may write from a pointer argument into a frame up to that frame's top (noteHelperPointers);
 * - anything run by the interpreter (the JIT's fall-backs) is not tracked: all.
 */
import { SEMANTICS } from './insn-semantics.js';
import { MAX_CALL_FRAMES, STACK_SIZE } from '../isa/index.js';
import type { LoadedProgram } from './interpreter-program.js';
import type { EngineState } from './interpreter-state.js';

/** A stackDirty figure meaning "anything in any frame". */
export const ALL_STACKS = STACK_SIZE + 1;

/** Bytes below a frame's top the program's r10-relative stores and atomics may write (ALL_STACKS: more). */
export function programStackWrites(p: LoadedProgram): number {
  if (p.stackWrites >= 0) return p.stackWrites;
  let bytes = 0;
  for (let pc = 0; pc < p.slots; pc++) {
    const kind = SEMANTICS[p.code[pc] as number]?.kind;
    if ((kind !== 'store' && kind !== 'atomic') || p.dst[pc] !== 10) continue;
    const off = p.off[pc] as number;
    if (!countedStore(10, off)) {
      bytes = ALL_STACKS;
      break;
    }
    if (-off > bytes) bytes = -off;
  }
  return (p.stackWrites = bytes);
}

/** Whether the address (lo, hi) + off lies in the stacks' span. */
export function inStacks(st: EngineState, lo: number, hi: number, off: number): boolean {
  const low = st.stackBases[0] as number;
  const a = (lo >>> 0) + off - low;
  return hi === 0 && a >= 0 && a < (st.stackTops[MAX_CALL_FRAMES - 1] as number) - low;
}

/** A store or atomic at (lo, hi) + off that programStackWrites did not count: all stacks when it hit one. */
export function noteStore(st: EngineState, lo: number, hi: number, off: number): void {
  if (inStacks(st, lo, hi, off)) st.stackDirty = ALL_STACKS;
}

/** Entering `p` (a run, a tail call, a callback): its r10-relative stores' bytes. */
export function noteProgram(st: EngineState, p: LoadedProgram): void {
  const w = p.stackWrites >= 0 ? p.stackWrites : programStackWrites(p);
  if (w > st.stackDirty) st.stackDirty = w;
}

/** A store at r10 + off whose bytes programStackWrites counted. */
export function countedStore(dst: number, off: number): boolean {
  return dst === 10 && off < 0 && off >= -STACK_SIZE;
}

/** Before a helper runs: pointer arguments (r1-r5) into a frame let it write from there to the frame's top. */
export function noteHelperPointers(st: EngineState): void {
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
    if (d > st.maxDepth || a < (st.stackBases[d] as number)) st.stackDirty = ALL_STACKS;
    else if ((st.stackTops[d] as number) - a > st.stackDirty) st.stackDirty = (st.stackTops[d] as number) - a;
  }
}

/** Zero what the runs since the last clear may have written (frames 0..maxDepth, `stackDirty` bytes each). */
export function clearWrittenStacks(st: EngineState): void {
  const n = st.stackStoresCached ? ALL_STACKS : st.stackDirty;
  const s = st.allStacks;
  if (n > STACK_SIZE) s.fill(0);
  else if (n > 0) {
    for (let d = 0, top = STACK_SIZE; d <= st.maxDepth; d++, top += STACK_SIZE) {
      if (n > 64) s.fill(0, top - n, top);
      else for (let i = top - n; i < top; i++) s[i] = 0; // (cheaper than fill() on a few bytes)
    }
  }
  st.stackDirty = 0;
}
