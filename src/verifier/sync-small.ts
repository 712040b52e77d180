/**
 * reg_bounds_sync (scalar.ts `sync`) for the common scalar that lies wholly in [0, 2^32): a value loaded
 * from a 32-bit field or less, a length, an index. Every bound and both tnum halves then fit a JavaScript
 * number, and the same two rounds run on numbers instead of BigInts (a round of BigInt operations
 * allocates some twenty of them; compares on packet and map fields run this on every branch).
 *
 * It computes exactly what the BigInt rounds compute: in this range the signed and unsigned bounds
 * coincide, the sign bit is never unknown, and the kernel's `tnum_range` never spans more than 32 bits.
 */
import type { Scalar } from './scalar.js';

const U32N = 0xffffffffn;

/** Marks "not in [0, 2^32)": the caller runs the general rounds. */
export const NOT_SMALL = null;

/**
 * `sync(s)` for a non-constant scalar whose bounds and tnum all lie in [0, 2^32); NOT_SMALL for any
 * other. Undefined when the facts contradict each other, `s` itself when they already agree.
 */
export function syncSmall(s: Scalar): Scalar | undefined | typeof NOT_SMALL {
  const t0 = s.t;
  if (s.smin < 0n || s.smax > U32N || s.umax > U32N || t0.value > U32N || t0.mask > U32N) return NOT_SMALL;
  const tv0 = Number(t0.value);
  const tm0 = Number(t0.mask);
  const umin0 = Number(s.umin);
  const umax0 = Number(s.umax);
  const smin0 = Number(s.smin);
  const smax0 = Number(s.smax);
  let tv = tv0;
  let tm = tm0;
  let umin = umin0;
  let umax = umax0;
  let smin = smin0;
  let smax = smax0;
  for (let round = 0; round < 2; round++) {
    const top = (tv | tm) >>> 0;
    // Bounds from the tnum (bit 63 is a known 0: the signed ones come out as the unsigned ones).
    if (tv > umin) umin = tv;
    if (top < umax) umax = top;
    if (tv > smin) smin = tv;
    if (top < smax) smax = top;
    // Signed from unsigned and back: both ranges are non-negative, so each always applies.
    if (umin <= umax) {
      if (umin > smin) smin = umin;
      if (umax < smax) smax = umax;
    }
    if (smin > umin) umin = smin;
    if (smax < umax) umax = smax;
    if (umin > umax || smin > smax) return undefined;
    // tnum_intersect(t, tnum_range(umin, umax)).
    const chi = (umin ^ umax) >>> 0;
    let rv = umin;
    let rm = 0;
    if (chi !== 0) {
      const bits = 32 - Math.clz32(chi);
      rm = bits === 32 ? 0xffffffff : 2 ** bits - 1;
      rv = (umin & ~rm) >>> 0;
    }
    const mu = (tm & rm) >>> 0;
    tv = ((tv | rv) & ~mu) >>> 0;
    tm = mu;
    if (round === 0 && tv === tv0 && tm === tm0 && umin === umin0 && umax === umax0 && smin === smin0 && smax === smax0)
      return s;
  }
  const t = tv === tv0 && tm === tm0 ? t0 : { value: BigInt(tv), mask: BigInt(tm) };
  return {
    t,
    umin: umin === umin0 ? s.umin : BigInt(umin),
    umax: umax === umax0 ? s.umax : BigInt(umax),
    smin: smin === smin0 ? s.smin : BigInt(smin),
    smax: smax === smax0 ? s.smax : BigInt(smax),
  };
}
