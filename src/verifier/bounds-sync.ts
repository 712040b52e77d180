/**
 * The kernel's reg_bounds_sync, step for step: the tnum, the 64-bit bounds (BigInt) and the 32-bit bounds
 * of the low half (JavaScript numbers: they always fit) each teach the others, in the kernel's order —
 * bounds from the tnum, three rounds of deduction (32-bit from 64-bit, 64-bit among themselves, 64-bit
 * from 32-bit), bits from the bounds, bounds from the bits again. The order matters: the deductions are
 * not a closure, so a different order or one round more could know more than the kernel, and a bound the
 * kernel does not know may let bpfkit prove dead, or prune, what the kernel walks.
 */
import type { Scalar } from './scalar.js';
import { type Tnum, U64, tintersect, trange, tstep } from './tnum.js';

const U32N = 0xffffffffn;
const HI32 = U64 ^ U32N;
const SIGN64 = 1n << 63n;
const NOT_SIGN64 = U64 ^ SIGN64;
const S32_MIN = -0x80000000;
const S32_MAX = 0x7fffffff;
const S32_MIN_N = -(1n << 31n);
const S32_MAX_N = (1n << 31n) - 1n;
const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);
/** The low 32 bits, unsigned (the kernel's `(u32)x`). */
const lo32 = (v: bigint): number => Number(v & U32N);
/** The high 32 bits of a 64-bit pattern as the kernel's `(u32)(x >> 32)` (signed values too). */
const hi32 = (v: bigint): number => Number((v >> 32n) & U32N);

/** A scalar being synced: every fact as a mutable field. */
interface Work {
  value: bigint;
  mask: bigint;
  umin: bigint;
  umax: bigint;
  smin: bigint;
  smax: bigint;
  u32min: number;
  u32max: number;
  s32min: number;
  s32max: number;
}

/** __update_reg32_bounds and __update_reg64_bounds: what the known bits allow. */
function boundsFromTnum(w: Work): void {
  const v32 = lo32(w.value);
  const m32 = lo32(w.mask);
  const smin32 = v32 | (m32 & 0x80000000) | 0;
  const smax32 = v32 | (m32 & 0x7fffffff) | 0;
  if (smin32 > w.s32min) w.s32min = smin32;
  if (smax32 < w.s32max) w.s32max = smax32;
  if (v32 > w.u32min) w.u32min = v32;
  const top32 = (v32 | m32) >>> 0;
  if (top32 < w.u32max) w.u32max = top32;
  const smin = s64(w.value | (w.mask & SIGN64));
  const smax = s64(w.value | (w.mask & NOT_SIGN64));
  if (smin > w.smin) w.smin = smin;
  if (smax < w.smax) w.smax = smax;
  if (w.value > w.umin) w.umin = w.value;
  const top = w.value | w.mask;
  if (top < w.umax) w.umax = top;
  const only = singleMember(w);
  if (only !== undefined) known(w, only);
}

/**
 * __update_reg64_bounds (Linux 6.18): where the unsigned range and the tnum share one value only, the
 * register is that value (___mark_reg_known). The three cases are the kernel's, contradictions included:
 * a range the tnum misses entirely may still come out a constant (its umin, or the tnum's largest member).
 */
function singleMember(w: Pick<Work, 'value' | 'mask' | 'umin' | 'umax'>): bigint | undefined {
  // Unknown bits all at the bottom (the usual case): the members are every value from value to its top, so
  // the range (clamped inside them) meets one value only when it is one value long, or inverted.
  // (A umin past the top is outside them: the kernel's step from it lands on the top.)
  if ((w.mask & (w.mask + 1n)) === 0n) {
    if (w.umin > (w.value | w.mask)) return w.value | w.mask;
    return w.umin >= w.umax ? w.umin : undefined;
  }
  const t = { value: w.value, mask: w.mask };
  const tmax = w.value | w.mask;
  const next = tstep(t, w.umin);
  const uminIn = (w.umin & ~w.mask & U64) === w.value;
  if (uminIn && next > w.umax) return w.umin;
  if (!uminIn && next === tmax) return tmax;
  if (!uminIn && next <= w.umax && tstep(t, next) > w.umax) return next;
  return undefined;
}

/**
 * The value __update_reg64_bounds pins `s` to (its unsigned bounds clamped to the tnum share that one value
 * with it), or undefined. The fast paths of scalar.ts's sync ask it before and after.
 */
export function singleMemberOf(s: Scalar): bigint | undefined {
  const top = s.t.value | s.t.mask;
  return singleMember({
    value: s.t.value,
    mask: s.t.mask,
    umin: s.umin > s.t.value ? s.umin : s.t.value,
    umax: s.umax < top ? s.umax : top,
  });
}

/** ___mark_reg_known: every fact the constant `v`. */
function known(w: Work, v: bigint): void {
  w.value = v;
  w.mask = 0n;
  w.umin = w.umax = v;
  w.smin = w.smax = s64(v);
  w.u32min = w.u32max = lo32(v);
  w.s32min = w.s32max = lo32(v) | 0;
}

/** Narrow the signed 32-bit range to [lo, hi] (signed numbers). */
function s32Within(w: Work, lo: number, hi: number): void {
  if (lo > w.s32min) w.s32min = lo;
  if (hi < w.s32max) w.s32max = hi;
}

/** Narrow the unsigned 32-bit range to [lo, hi] (unsigned numbers). */
function u32Within(w: Work, lo: number, hi: number): void {
  if (lo > w.u32min) w.u32min = lo;
  if (hi < w.u32max) w.u32max = hi;
}

/** __reg32_deduce_bounds: the low half's ranges from the 64-bit ones, then signed and unsigned 32-bit. */
function deduce32(w: Work): void {
  for (let i = 0; i < 2; i++) {
    const lo = i === 0 ? w.umin : w.smin;
    const hi = i === 0 ? w.umax : w.smax;
    const a = lo32(lo);
    const b = lo32(hi);
    const ha = hi32(lo);
    const hb = hi32(hi);
    if (ha === hb) {
      // A 64-bit range within one 4 GiB window: its low halves keep their order.
      u32Within(w, a, b);
      if ((a | 0) <= (b | 0)) s32Within(w, a | 0, b | 0);
    } else if ((ha + 1) >>> 0 === hb && (a | 0) < 0 && (b | 0) >= 0) {
      // Two neighbouring windows (0xffffffff then 0 counts) whose low halves run from negative to
      // positive: as signed 32-bit values they still form one range.
      s32Within(w, a | 0, b | 0);
    }
  }
  // An unsigned range that does not cross the sign bit is a signed range, and back.
  if ((w.u32min | 0) <= (w.u32max | 0)) s32Within(w, w.u32min | 0, w.u32max | 0);
  const a = w.s32min >>> 0;
  const b = w.s32max >>> 0;
  if (a <= b) u32Within(w, a, b);
  else if (w.u32max < a) {
    // The signed range wraps (negative to positive) and the unsigned one meets only its positive part.
    w.s32min = w.u32min | 0;
    if (b < w.u32max) w.u32max = b;
  } else if (b < w.u32min) {
    // ... or only its negative part.
    w.s32max = w.u32max | 0;
    if (a > w.u32min) w.u32min = a;
  }
}

/** __reg64_deduce_bounds: signed and unsigned 64-bit ranges teach each other. */
function deduce64(w: Work): void {
  const sumin = s64(w.umin);
  const sumax = s64(w.umax);
  if (sumin <= sumax) {
    if (sumin > w.smin) w.smin = sumin;
    if (sumax < w.smax) w.smax = sumax;
  }
  const a = BigInt.asUintN(64, w.smin);
  const b = BigInt.asUintN(64, w.smax);
  if (a <= b) {
    if (a > w.umin) w.umin = a;
    if (b < w.umax) w.umax = b;
  } else if (w.umax < a) {
    // The signed range wraps and the unsigned one meets only its non-negative part.
    w.smin = s64(w.umin);
    if (b < w.umax) w.umax = b;
  } else if (b < w.umin) {
    w.smax = s64(w.umax);
    if (a > w.umin) w.umin = a;
  }
}

/** __reg_deduce_mixed_bounds: the 64-bit ranges' ends take the 32-bit bounds as their low halves. */
function deduceMixed(w: Work): void {
  const umin = (w.umin & HI32) | BigInt(w.u32min);
  const umax = (w.umax & HI32) | BigInt(w.u32max);
  if (umin > w.umin) w.umin = umin;
  if (umax < w.umax) w.umax = umax;
  const smin = s64((BigInt.asUintN(64, w.smin) & HI32) | BigInt(w.u32min));
  const smax = s64((BigInt.asUintN(64, w.smax) & HI32) | BigInt(w.u32max));
  if (smin > w.smin) w.smin = smin;
  if (smax < w.smax) w.smax = smax;
  // A value whose 64 bits are its sign-extended low half, and that half non-negative: one range for all.
  if (w.s32min >= 0 && w.smin >= S32_MIN_N && w.smax <= S32_MAX_N) {
    w.smin = BigInt(w.s32min);
    w.smax = BigInt(w.s32max);
    w.umin = w.smin;
    w.umax = w.smax;
    const t = tintersect({ value: w.value, mask: w.mask }, trange(w.umin, w.umax));
    w.value = t.value;
    w.mask = t.mask;
  }
}

/** __reg_bound_offset: the bits both ranges (64-bit, and the low half's unsigned one) fix. */
function bitsFromBounds(w: Work): void {
  // tnum_range of a range whose ends differ in bit 63 knows nothing: intersecting with it changes nothing.
  if (((w.umin ^ w.umax) & SIGN64) === 0n) {
    const t64 = tintersect({ value: w.value, mask: w.mask }, trange(w.umin, w.umax));
    w.value = t64.value;
    w.mask = t64.mask;
  }
  // The low half on numbers: intersect it with tnum_range(u32min, u32max), then put it back in place.
  const v0 = lo32(w.value);
  const m0 = lo32(w.mask);
  const chi = (w.u32min ^ w.u32max) >>> 0;
  let rv = w.u32min;
  let rm = 0;
  if (chi !== 0) {
    const bits = 32 - Math.clz32(chi);
    rm = bits === 32 ? 0xffffffff : 2 ** bits - 1;
    rv = (w.u32min & ~rm) >>> 0;
  }
  const m = (m0 & rm) >>> 0;
  const v = ((v0 | rv) & ~m) >>> 0;
  if (v === v0 && m === m0) return;
  w.value = (w.value & HI32) | BigInt(v);
  w.mask = (w.mask & HI32) | BigInt(m);
}

const same = (w: Work, s: Scalar): boolean =>
  w.value === s.t.value &&
  w.mask === s.t.mask &&
  w.umin === s.umin &&
  w.umax === s.umax &&
  w.smin === s.smin &&
  w.smax === s.smax &&
  w.u32min === s.u32min &&
  w.u32max === s.u32max &&
  w.s32min === s.s32min &&
  w.s32max === s.s32max;

/**
 * reg_bounds_sync on a non-constant scalar. Undefined when the facts contradict each other (no value
 * has them all: a branch side that cannot happen); `s` itself when they already agree.
 */
export function boundsSync(s: Scalar): Scalar | undefined {
  const w = syncWork(s);
  if (w.umin > w.umax || w.smin > w.smax || w.u32min > w.u32max || w.s32min > w.s32max) return undefined;
  if (same(w, s)) return s;
  return {
    t: w.value === s.t.value && w.mask === s.t.mask ? s.t : { value: w.value, mask: w.mask },
    umin: w.umin,
    umax: w.umax,
    smin: w.smin,
    smax: w.smax,
    u32min: w.u32min,
    u32max: w.u32max,
    s32min: w.s32min,
    s32max: w.s32max,
  };
}

/**
 * The tnum reg_bounds_sync leaves when `s`'s facts contradict each other: reg_bounds_sanity_check then
 * forgets the bounds (__mark_reg_unbounded) but keeps this tnum, which the bits-from-bounds step may have
 * changed (an impossible branch side of `r < 3` on a tnum of odd values leaves the constant 3).
 */
export function contradictionTnum(s: Scalar): Tnum {
  const w = syncWork(s);
  return w.value === s.t.value && w.mask === s.t.mask ? s.t : { value: w.value, mask: w.mask };
}

/** reg_bounds_sync's steps on `s`, whatever they come to (contradicting facts too). */
function syncWork(s: Scalar): Work {
  const w: Work = {
    value: s.t.value,
    mask: s.t.mask,
    umin: s.umin,
    umax: s.umax,
    smin: s.smin,
    smax: s.smax,
    u32min: s.u32min,
    u32max: s.u32max,
    s32min: s.s32min,
    s32max: s.s32max,
  };
  boundsFromTnum(w);
  for (let round = 0; round < 3; round++) {
    // A round that changes nothing is a fixed point: the next would change nothing either.
    const { value, mask, umin, umax, smin, smax, u32min, u32max, s32min, s32max } = w;
    deduce32(w);
    deduce64(w);
    deduceMixed(w);
    if (
      value === w.value &&
      mask === w.mask &&
      umin === w.umin &&
      umax === w.umax &&
      smin === w.smin &&
      smax === w.smax &&
      u32min === w.u32min &&
      u32max === w.u32max &&
      s32min === w.s32min &&
      s32max === w.s32max
    )
      break;
  }
  bitsFromBounds(w);
  boundsFromTnum(w);
  return w;
}

/** The full 32-bit ranges (nothing known of the low half). */
export const FULL32 = { u32min: 0, u32max: 0xffffffff, s32min: S32_MIN, s32max: S32_MAX } as const;
