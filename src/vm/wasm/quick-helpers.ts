/**
 * Helpers that read no argument and only set r0 — the clocks, the CPU number, the pseudo-random number
 * — called through their own import: the registers need no spilling, the budget and the region, packet
 * and map tables no hand-over, since such a helper charges, moves and writes none of them. A program
 * reading the clock once per packet (bpf_ktime_get_ns) then pays one small call instead of the generic
 * helper crossing. Only the stock implementations go this way: a Vm whose host registered its own
 * function under one of these numbers gets the generic call, which makes no assumption about it.
 */
import type { EngineState } from '../interpreter-state.js';
import type { LoadedProgram } from '../interpreter-program.js';
import type { HelperFn } from '../helper-abi.js';
import { callHelper } from '../interpreter-ops.js';
import { getPrandomU32, getSmpProcessorId, ktimeGetBootNs, ktimeGetNs } from '../helpers/misc-helpers.js';
import { Body, Import } from './body.js';

/** bpf_ktime_get_ns (5), get_prandom_u32 (7), get_smp_processor_id (8), ktime_get_boot_ns (125). */
const STOCK = new Map<number, HelperFn>([
  [5, ktimeGetNs],
  [7, getPrandomU32],
  [8, getSmpProcessorId],
  [125, ktimeGetBootNs],
]);

/** The helper numbers that get the quick call. */
export const QUICK_HELPERS: ReadonlySet<number> = new Set(STOCK.keys());

/** The call: the import runs the helper (r0 reloaded from the register file), or says 0 and `slow` calls it. */
export function emitQuickHelper(b: Body, pc: number, id: number, slow: () => void): void {
  b.i32(pc).i32(id).call(Import.Quick).if();
  b.reload([0]);
  b.else();
  slow();
  b.end();
}

/** The `quick` import of a module running `p` on state `st`. */
export function quickImport(st: EngineState, p: LoadedProgram): (pc: number, id: number) => number {
  return (pc, id) => {
    if (st.helpers.fn(id) !== STOCK.get(id)) return 0;
    callHelper(st, p, pc, id);
    return 1;
  };
}
