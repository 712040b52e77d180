/**
 * Helpers that read no argument and only set r0 — the clocks, the CPU number, the pseudo-random number
 * — called through their own import: the registers need no spilling, the budget and the region, packet
 * and map tables no hand-over, since such a helper charges, moves and writes none of them. A program
 * reading the clock once per packet (bpf_ktime_get_ns) then pays one small call instead of the generic
 * helper crossing, and the clocks not even the helper call: the import returns the host clock's reading
 * itself, which the module turns into r0 as HelperCall.retNumber would. Only the stock implementations
 * go this way: a Vm whose host registered its own function under one of these numbers gets the generic
 * call, which makes no assumption about it.
 */
import type { EngineState } from '../interpreter-state.js';
import type { LoadedProgram } from '../interpreter-program.js';
import type { HelperFn } from '../helper-abi.js';
import type { RunContext } from '../contexts/run-context.js';
import { callHelper, helperFailure } from '../interpreter-ops.js';
import { getPrandomU32, getSmpProcessorId, ktimeGetBootNs, ktimeGetNs } from '../helpers/misc-helpers.js';
import { Body, Import, L_T, reg } from './body.js';
import * as W from './opcodes.js';

/** bpf_ktime_get_ns (5), get_prandom_u32 (7), get_smp_processor_id (8), ktime_get_boot_ns (125). */
const STOCK = new Map<number, HelperFn>([
  [5, ktimeGetNs],
  [7, getPrandomU32],
  [8, getSmpProcessorId],
  [125, ktimeGetBootNs],
]);

/** The helper numbers that get the quick call. */
export const QUICK_HELPERS: ReadonlySet<number> = new Set(STOCK.keys());

/** What the import returns (an f64) when it did not return r0 itself: call the helper / r0 is in the register file. */
const NOT_STOCK = -1;
const IN_FILE = -2;
/** NOT_STOCK's bits as an f64 (0xbff0000000000000), as the module compares them. */
const NOT_STOCK_HI = 0xbff00000 | 0;

/**
 * The call. The import returns an f64: a number in [0, 2^64) is r0 itself (a clock's reading, truncated
 * as retNumber does), IN_FILE says the helper ran and left r0 in the register file, NOT_STOCK that
 * `slow` must call it. (Both are negative: the sign bit tells them from a reading.)
 */
export function emitQuickHelper(b: Body, pc: number, id: number, slow: () => void): void {
  b.i32(pc).i32(id).call(Import.Quick).op(W.I64_REINTERPRET_F64).tee(L_T).i64(0, 0).op(W.I64_LT_S).if();
  b.get(L_T).i64(0, NOT_STOCK_HI).op(W.I64_EQ).if();
  slow();
  b.else();
  b.reload([0]);
  b.end();
  b.else();
  b.get(L_T).op(W.F64_REINTERPRET_I64, W.I64_TRUNC_F64_U).set(reg(0));
  b.end();
}

/** The `quick` import of a module running `p` on state `st`. */
export function quickImport(st: EngineState, p: LoadedProgram): (pc: number, id: number) => number {
  return (pc, id) => {
    const fn = st.helpers.fn(id);
    if (fn !== STOCK.get(id)) return NOT_STOCK;
    if (fn === ktimeGetNs || fn === ktimeGetBootNs) {
      // what the stock helper does, less the helper call: r0 = retNumber(the host's clock)
      try {
        const host = (st.call.context as RunContext).host;
        const v = fn === ktimeGetNs ? host.clockNs() : host.bootClockNs();
        if (typeof v === 'number' && v >= 0 && v < 2 ** 64) return v === 0 ? 0 : v; // (-0 has the sign bit: +0)
        st.call.retNumber(v);
        return IN_FILE;
      } catch (err) {
        throw helperFailure(st, pc, id, err);
      }
    }
    callHelper(st, p, pc, id);
    return IN_FILE;
  };
}
