/**
 * reg_bounds_sync (bounds-sync.ts) for the common scalar whose high half is known zero: a value loaded
 * from a 32-bit field or less, a length, an index, a masked value. Every fact then fits a JavaScript
 * number, and the same steps run on numbers instead of BigInts (a round of BigInt operations allocates
 * dozens of them; compares on packet and map fields run this on every branch).
 *
 * It computes exactly what bounds-sync.ts computes — the test holds the two equal on millions of random
 * scalars, contradictory ones included. With the high half zero the kernel's steps simplify: the 64-bit
 * ranges never leave [0, 2^32), so signed and unsigned 64-bit bounds are the same kind of number, their
 * high halves never differ, and the tnum's high half stays zero.
 */
import type { Scalar } from './scalar.js';

const U32N = 0xffffffffn;

/** Marks "high half not known zero": the caller runs the general steps. */
export const NOT_SMALL = null;

/** Working facts (uint32 numbers, signed 32-bit ones as int32). */
let value = 0;
let mask = 0;
let umin = 0;
let umax = 0;
let smin = 0;
let smax = 0;
let u32min = 0;
let u32max = 0;
let s32min = 0;
let s32max = 0;

/** __update_reg32_bounds and __update_reg64_bounds with bit 63 and the high half known zero. */
function boundsFromTnum(): void {
  const top = (value | mask) >>> 0;
  const lo = value | (mask & 0x80000000) | 0;
  const hi = value | (mask & 0x7fffffff) | 0;
  if (lo > s32min) s32min = lo;
  if (hi < s32max) s32max = hi;
  if (value > u32min) u32min = value;
  if (top < u32max) u32max = top;
  if (value > smin) smin = value;
  if (top < smax) smax = top;
  if (value > umin) umin = value;
  if (top < umax) umax = top;
}

/** tnum_intersect(tnum, tnum_range(lo, hi)) on the working tnum. */
function intersectRange(lo: number, hi: number): void {
  const chi = (lo ^ hi) >>> 0;
  let rv = lo;
  let rm = 0;
  if (chi !== 0) {
    const bits = 32 - Math.clz32(chi);
    rm = bits === 32 ? 0xffffffff : 2 ** bits - 1;
    rv = (lo & ~rm) >>> 0;
  }
  const mu = (mask & rm) >>> 0;
  value = ((value | rv) & ~mu) >>> 0;
  mask = mu;
}

/** One round of __reg32_deduce_bounds, __reg64_deduce_bounds, __reg_deduce_mixed_bounds. */
function deduceRound(): void {
  // 32-bit from 64-bit: both ranges lie in the window [0, 2^32).
  for (let i = 0; i < 2; i++) {
    const a = i === 0 ? umin : smin;
    const b = i === 0 ? umax : smax;
    if (a > u32min) u32min = a;
    if (b < u32max) u32max = b;
    if ((a | 0) <= (b | 0)) {
      if ((a | 0) > s32min) s32min = a | 0;
      if ((b | 0) < s32max) s32max = b | 0;
    }
  }
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
  // 64-bit among themselves: both non-negative (an unsigned range upside down teaches nothing).
  if (umin <= umax) {
    if (umin > smin) smin = umin;
    if (umax < smax) smax = umax;
  }
  if (smin <= smax) {
    if (smin > umin) umin = smin;
    if (smax < umax) umax = smax;
  } else if (umax < smin) {
    smin = umin;
    if (smax < umax) umax = smax;
  } else if (smax < umin) {
    smax = umax;
    if (smin > umin) umin = smin;
  }
  // 64-bit from 32-bit: the high halves are zero.
  if (u32min > umin) umin = u32min;
  if (u32max < umax) umax = u32max;
  if (u32min > smin) smin = u32min;
  if (u32max < smax) smax = u32max;
  if (s32min >= 0 && smax <= 0x7fffffff) {
    smin = umin = s32min;
    smax = umax = s32max;
    intersectRange(smin, smax);
  }
}

/**
 * `boundsSync(s)` for a non-constant scalar whose tnum's high half is known zero (and whose 64-bit bounds
 * do not already exclude that); NOT_SMALL for any other. Undefined when the facts contradict each other,
 * `s` itself when they already agree.
 */
export function syncSmall(s: Scalar): Scalar | undefined | typeof NOT_SMALL {
  const t0 = s.t;
  if ((t0.value | t0.mask) > U32N || s.umin > U32N || s.smin > U32N || s.smax < 0n) return NOT_SMALL;
  value = Number(t0.value);
  mask = Number(t0.mask);
  // Bounds beyond [0, 2^32) give way to the tnum's at once; their exact size no longer matters.
  umin = Number(s.umin);
  umax = s.umax > U32N ? 0xffffffff : Number(s.umax);
  smin = s.smin < 0n ? 0 : Number(s.smin);
  smax = s.smax > U32N ? 0xffffffff : Number(s.smax);
  // The inputs as numbers where they are exact (-1 where a bound was clipped: no result equals it), so
  // unchanged bounds keep their BigInts and nothing is converted just to compare.
  const umin0 = umin;
  const umax0 = s.umax > U32N ? -1 : umax;
  const smin0 = s.smin < 0n ? -1 : smin;
  const smax0 = s.smax > U32N ? -1 : smax;
  ({ u32min, u32max, s32min, s32max } = s);
  boundsFromTnum();
  for (let round = 0; round < 3; round++) {
    // A round that changes nothing is a fixed point: the next would change nothing either.
    const v0 = value;
    const m0 = mask;
    const a0 = umin;
    const b0 = umax;
    const c0 = smin;
    const d0 = smax;
    const e0 = u32min;
    const f0 = u32max;
    const g0 = s32min;
    const h0 = s32max;
    deduceRound();
    const same64 = v0 === value && m0 === mask && a0 === umin && b0 === umax && c0 === smin && d0 === smax;
    if (same64 && e0 === u32min && f0 === u32max && g0 === s32min && h0 === s32max) break;
  }
  intersectRange(umin, umax);
  intersectRange(u32min, u32max);
  boundsFromTnum();
  if (umin > umax || smin > smax || u32min > u32max || s32min > s32max) return undefined;
  const tSame = value === Number(t0.value) && mask === Number(t0.mask);
  const same64 = umin === umin0 && umax === umax0 && smin === smin0 && smax === smax0;
  if (tSame && same64 && u32min === s.u32min && u32max === s.u32max && s32min === s.s32min && s32max === s.s32max)
    return s;
  return {
    t: tSame ? t0 : { value: BigInt(value), mask: BigInt(mask) },
    umin: umin === umin0 ? s.umin : BigInt(umin),
    umax: umax === umax0 ? s.umax : BigInt(umax),
    smin: smin === smin0 ? s.smin : BigInt(smin),
    smax: smax === smax0 ? s.smax : BigInt(smax),
    u32min,
    u32max,
    s32min,
    s32max,
  };
}
