/**
 * reg_bounds_sync (bounds-sync.ts) for a scalar of which only the low half is known: its tnum's high
 * half wholly unknown and each 64-bit bound within the high half its limit has (umin below 2^32, umax
 * at least 0xffffffff00000000, and so on) — a helper's 64-bit result after 32-bit compares
 * (`if w0 == 32`), the commonest scalar a packet filter's JMP32 refines. The steps then reduce
 * to 32-bit ones on numbers: the 64-bit ranges span every high half, so none of the 32-from-64 or
 * 64-among-themselves deductions ever applies, and each 64-bit bound is a fixed high half (0, 0xffffffff,
 * 0x80000000, 0x7fffffff) with a low half that follows the 32-bit bounds. Exactly what bounds-sync.ts
 * computes: the test holds the two equal on random scalars of this kind.
 */
import type { Scalar } from './scalar.js';
import { U64 } from './tnum.js';

const U32N = 0xffffffffn;
const HI32 = U64 ^ U32N;
const S64_MIN = -(1n << 63n);
/** The high half of smax's pattern (0x7fffffff) and of smin's (0x80000000), as signed 64-bit values. */
const SMAX_HI = 0x7fffffffn << 32n;
/** The largest smin whose pattern's high half is 0x80000000. */
const SMIN_TOP = S64_MIN + U32N;

/** Marks "not this kind of scalar": the caller runs the general steps. */
export const NOT_LOW_HALF = null;

let u32min = 0;
let u32max = 0;
let s32min = 0;
let s32max = 0;

/** The 32-bit part of __reg32_deduce_bounds (the part a low-half-only scalar ever reaches). */
function deduce32(): void {
  if ((u32min | 0) <= (u32max | 0)) {
    if ((u32min | 0) > s32min) s32min = u32min | 0;
    if ((u32max | 0) < s32max) s32max = u32max | 0;
  }
  const a = s32min >>> 0;
  const b = s32max >>> 0;
  if (a <= b) {
    if (a > u32min) u32min = a;
    if (b < u32max) u32max = b;
  } else if (u32max < a) {
    s32min = u32min | 0;
    if (b < u32max) u32max = b;
  } else if (b < u32min) {
    s32max = u32max | 0;
    if (a > u32min) u32min = a;
  }
}

/** __update_reg32_bounds from the low tnum (v, m). */
function bounds32FromTnum(v: number, m: number): void {
  const lo = v | (m & 0x80000000) | 0;
  const hi = v | (m & 0x7fffffff) | 0;
  if (lo > s32min) s32min = lo;
  if (hi < s32max) s32max = hi;
  if (v > u32min) u32min = v;
  const top = (v | m) >>> 0;
  if (top < u32max) u32max = top;
}

/**
 * `boundsSync(s)` for a scalar whose tnum's high half is wholly unknown and whose 64-bit bounds lie in
 * their limits' high halves; NOT_LOW_HALF for any other. Undefined when the facts contradict each other.
 */
export function syncLowHalf(s: Scalar): Scalar | undefined | typeof NOT_LOW_HALF {
  const t0 = s.t;
  if (t0.mask >> 32n !== U32N || t0.value > U32N) return NOT_LOW_HALF;
  // Each 64-bit bound within its fixed high half (at its limit, or as an earlier sync of this kind left it).
  if (s.umin > U32N || s.umax < HI32 || s.smin > SMIN_TOP || s.smax < SMAX_HI) return NOT_LOW_HALF;
  let v = Number(t0.value);
  let m = Number(t0.mask & U32N);
  ({ u32min, u32max, s32min, s32max } = s);
  bounds32FromTnum(v, m);
  // The low halves of umin, umax, smin, smax: narrowed by the tnum first, then following the 32-bit bounds.
  const iumin = Number(s.umin);
  const iumax = Number(s.umax & U32N);
  const ismin = Number(s.smin - S64_MIN);
  const ismax = Number(s.smax & U32N);
  const top0 = (v | m) >>> 0;
  let lumin = Math.max(iumin, v);
  let lumax = Math.min(iumax, top0);
  let lsmin = Math.max(ismin, v);
  let lsmax = Math.min(ismax, top0);
  for (let round = 0; round < 3; round++) {
    const a0 = u32min;
    const b0 = u32max;
    const c0 = s32min;
    const d0 = s32max;
    const e0 = lumin;
    const f0 = lumax;
    const g0 = lsmin;
    const h0 = lsmax;
    deduce32();
    // __reg_deduce_mixed_bounds: each 64-bit end takes the 32-bit bound as its low half.
    if (u32min > lumin) lumin = u32min;
    if (u32max < lumax) lumax = u32max;
    if (u32min > lsmin) lsmin = u32min;
    if (u32max < lsmax) lsmax = u32max;
    const same32 = a0 === u32min && b0 === u32max && c0 === s32min && d0 === s32max;
    if (same32 && e0 === lumin && f0 === lumax && g0 === lsmin && h0 === lsmax) break;
  }
  // __reg_bound_offset: the 64-bit range knows nothing of the bits; the low half meets tnum_range(u32).
  const chi = (u32min ^ u32max) >>> 0;
  let rv = u32min;
  let rm = 0;
  if (chi !== 0) {
    const bits = 32 - Math.clz32(chi);
    rm = bits === 32 ? 0xffffffff : 2 ** bits - 1;
    rv = (u32min & ~rm) >>> 0;
  }
  const mu = (m & rm) >>> 0;
  v = ((v | rv) & ~mu) >>> 0;
  m = mu;
  bounds32FromTnum(v, m);
  const top = (v | m) >>> 0;
  if (v > lumin) lumin = v;
  if (top < lumax) lumax = top;
  if (v > lsmin) lsmin = v;
  if (top < lsmax) lsmax = top;
  if (u32min > u32max || s32min > s32max) return undefined;
  const tSame = v === Number(t0.value) && m === Number(t0.mask & U32N);
  const same64 = lumin === iumin && lumax === iumax && lsmin === ismin && lsmax === ismax;
  if (tSame && same64 && u32min === s.u32min && u32max === s.u32max && s32min === s.s32min && s32max === s.s32max)
    return s;
  return {
    t: tSame ? t0 : { value: BigInt(v), mask: HI32 | BigInt(m) },
    umin: lumin === iumin ? s.umin : BigInt(lumin),
    umax: lumax === iumax ? s.umax : HI32 | BigInt(lumax),
    smin: lsmin === ismin ? s.smin : S64_MIN + BigInt(lsmin),
    smax: lsmax === ismax ? s.smax : SMAX_HI | BigInt(lsmax),
    u32min,
    u32max,
    s32min,
    s32max,
  };
}
