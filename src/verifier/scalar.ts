/**
 * Scalar values as the kernel verifier tracks them: a tnum plus unsigned and signed 64-bit bounds, kept
 * consistent with each other after every step (the kernel's reg_bounds_sync). The transfer functions are
 * deliberately never sharper than the kernel's: a bound the kernel does not know must not let bpfkit
 * accept a program the kernel refuses, so where the kernel gives up (division, negation, byte swaps,
 * shifts by a register) so does this file.
 */
import {
  U64,
  type Tnum,
  tadd,
  tand,
  tarsh,
  tconst,
  tintersect,
  tisConst,
  tlow32,
  tlsh,
  tor,
  trange,
  trsh,
  tsub,
  tunknown,
  txor,
} from './tnum.js';
import { NOT_SMALL, syncSmall } from './sync-small.js';

/** A scalar: what is known of a 64-bit register value. Signed bounds are signed BigInts. */
export interface Scalar {
  readonly t: Tnum;
  readonly umin: bigint;
  readonly umax: bigint;
  readonly smin: bigint;
  readonly smax: bigint;
}

const S64_MIN = -(1n << 63n);
const S64_MAX = (1n << 63n) - 1n;
const U32 = 0xffffffffn;
const s64 = (v: bigint) => BigInt.asIntN(64, v);
const u64 = (v: bigint) => BigInt.asUintN(64, v);
const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** Nothing known. */
export const UNKNOWN: Scalar = { t: tunknown, umin: 0n, umax: U64, smin: S64_MIN, smax: S64_MAX };

/** A known constant (taken modulo 2^64). */
export function known(v: bigint): Scalar {
  const u = u64(v);
  return { t: tconst(u), umin: u, umax: u, smin: s64(u), smax: s64(u) };
}

/** Any value in [0, 2^bits). */
export function unsignedBits(bits: number): Scalar {
  const top = (1n << BigInt(bits)) - 1n;
  return { t: { value: 0n, mask: top }, umin: 0n, umax: top, smin: 0n, smax: top };
}

/** Any value of a signed `bits`-bit integer, sign-extended to 64 bits. */
export function signedBits(bits: number): Scalar {
  if (bits >= 64) return UNKNOWN;
  const half = 1n << BigInt(bits - 1);
  return sync({ ...UNKNOWN, smin: -half, smax: half - 1n }) ?? UNKNOWN;
}

/** True for a constant. */
export const isConst = (s: Scalar): boolean => tisConst(s.t);

/**
 * Make the tnum and the four bounds agree (the kernel's reg_bounds_sync, 64-bit half). Returns undefined
 * when they contradict: no value satisfies them (a branch that cannot be taken).
 */
export function sync(s: Scalar): Scalar | undefined {
  let { t, umin, umax, smin, smax } = s;
  if (t.mask === 0n) {
    // A constant tnum pins every bound: the general rounds below come to the same, far more slowly.
    const v = t.value;
    const sv = s64(v);
    if (v < umin || v > umax || sv < smin || sv > smax) return undefined;
    return umin === v && umax === v && smin === sv && smax === sv ? s : known(v);
  }
  const small = syncSmall(s);
  if (small !== NOT_SMALL) return small;
  for (let round = 0; round < 2; round++) {
    const before = round === 1 ? undefined : { t, umin, umax, smin, smax };
    // Bounds from the tnum.
    umin = max(umin, t.value);
    umax = min(umax, t.value | t.mask);
    const signMask = 1n << 63n;
    smin = max(smin, s64(t.value | (t.mask & signMask)));
    smax = min(smax, s64(t.value | (t.mask & ~signMask & U64)));
    // Signed from unsigned when the unsigned range does not cross the sign boundary, and back.
    if (s64(umin) <= s64(umax)) {
      smin = max(smin, s64(umin));
      smax = min(smax, s64(umax));
    }
    if (smin >= 0n || smax < 0n) {
      umin = max(umin, u64(smin));
      umax = min(umax, u64(smax));
    }
    if (umin > umax || smin > smax) return undefined;
    t = tintersect(t, trange(umin, umax));
    if ((t.value & ~t.mask & U64) !== t.value) return undefined;
    // A round that changed nothing is a fixed point: the second would change nothing either.
    if (
      before &&
      t.value === before.t.value &&
      t.mask === before.t.mask &&
      umin === before.umin &&
      umax === before.umax &&
      smin === before.smin &&
      smax === before.smax
    )
      return s;
  }
  return { t, umin, umax, smin, smax };
}

const must = (s: Scalar | undefined): Scalar => s ?? UNKNOWN;

/** The low 32 bits of a value, zero-extended (what a 32-bit operation reads, and writes back). */
export function low32(s: Scalar): Scalar {
  if (s.umax <= U32) return s;
  let umin = 0n;
  let umax = U32;
  // One 4 GiB window: the low halves keep their order.
  if (s.umin >> 32n === s.umax >> 32n) {
    umin = s.umin & U32;
    umax = s.umax & U32;
  }
  return must(sync({ t: tlow32(s.t), umin, umax, smin: 0n, smax: U32 }));
}

/** a + b. */
export function add(a: Scalar, b: Scalar): Scalar {
  const t = tadd(a.t, b.t);
  let { umin, umax, smin, smax } = UNKNOWN;
  if (a.umax + b.umax <= U64) {
    umin = a.umin + b.umin;
    umax = a.umax + b.umax;
  }
  const lo = a.smin + b.smin;
  const hi = a.smax + b.smax;
  if (lo >= S64_MIN && hi <= S64_MAX) {
    smin = lo;
    smax = hi;
  }
  return must(sync({ t, umin, umax, smin, smax }));
}

/** a - b. */
export function sub(a: Scalar, b: Scalar): Scalar {
  const t = tsub(a.t, b.t);
  let { umin, umax, smin, smax } = UNKNOWN;
  if (a.umin >= b.umax) {
    umin = a.umin - b.umax;
    umax = a.umax - b.umin;
  }
  const lo = a.smin - b.smax;
  const hi = a.smax - b.smin;
  if (lo >= S64_MIN && hi <= S64_MAX) {
    smin = lo;
    smax = hi;
  }
  return must(sync({ t, umin, umax, smin, smax }));
}

/** a * b: bounded only when both are small and non-negative (as the kernel's scalar_min_max_mul). */
export function mul(a: Scalar, b: Scalar): Scalar {
  if (isConst(a) && isConst(b)) return known(a.t.value * b.t.value);
  if (a.umax > U32 || b.umax > U32 || a.smin < 0n || b.smin < 0n) return UNKNOWN;
  const umax = a.umax * b.umax;
  return must(sync({ t: trange(0n, umax), umin: a.umin * b.umin, umax, smin: a.umin * b.umin, smax: umax }));
}

/** a & b. */
export function and(a: Scalar, b: Scalar): Scalar {
  const t = tand(a.t, b.t);
  const umax = min(a.umax, b.umax);
  const base = { t, umin: t.value, umax, smin: S64_MIN, smax: S64_MAX };
  if (a.smin >= 0n && b.smin >= 0n) return must(sync({ ...base, smin: 0n, smax: umax }));
  return must(sync(base));
}

/** a | b. */
export function or(a: Scalar, b: Scalar): Scalar {
  const t = tor(a.t, b.t);
  return must(sync({ t, umin: max(a.umin, b.umin), umax: t.value | t.mask, smin: S64_MIN, smax: S64_MAX }));
}

/** a ^ b. */
export function xor(a: Scalar, b: Scalar): Scalar {
  const t = txor(a.t, b.t);
  return must(sync({ t, umin: t.value, umax: t.value | t.mask, smin: S64_MIN, smax: S64_MAX }));
}

/** a << k for a constant k below 64. */
export function lsh(a: Scalar, k: number): Scalar {
  const t = tlsh(a.t, k);
  const K = BigInt(k);
  if (a.umax << K <= U64) {
    return must(sync({ t, umin: a.umin << K, umax: a.umax << K, smin: S64_MIN, smax: S64_MAX }));
  }
  return must(sync({ ...UNKNOWN, t }));
}

/** a >> k (logical) for a constant k below 64. */
export function rsh(a: Scalar, k: number): Scalar {
  const K = BigInt(k);
  return must(sync({ t: trsh(a.t, k), umin: a.umin >> K, umax: a.umax >> K, smin: S64_MIN, smax: S64_MAX }));
}

/** a >> k (arithmetic, 64-bit) for a constant k below 64. */
export function arsh(a: Scalar, k: number): Scalar {
  const K = BigInt(k);
  return must(sync({ t: tarsh(a.t, k, 64), umin: 0n, umax: U64, smin: a.smin >> K, smax: a.smax >> K }));
}

/** Does `outer` hold every value `inner` may take? (state pruning) */
export function contains(outer: Scalar, inner: Scalar): boolean {
  if (outer === inner) return true;
  return (
    outer.umin <= inner.umin &&
    outer.umax >= inner.umax &&
    outer.smin <= inner.smin &&
    outer.smax >= inner.smax &&
    (inner.t.mask & ~outer.t.mask) === 0n &&
    (inner.t.value & ~outer.t.mask) === outer.t.value
  );
}

/** Equal knowledge. */
export const sameScalar = (a: Scalar, b: Scalar): boolean =>
  a === b ||
  (a.umin === b.umin &&
    a.umax === b.umax &&
    a.smin === b.smin &&
    a.smax === b.smax &&
    a.t.value === b.t.value &&
    a.t.mask === b.t.mask);

/** The kernel's log text of a scalar: `0x5`, or `(smin=…,umax=…,var_off=(…))` parts. */
export function scalarText(s: Scalar): string {
  if (isConst(s)) return `${s64(s.t.value)}`;
  const parts: string[] = [];
  if (s.smin !== S64_MIN) parts.push(`smin=${s.smin}`);
  if (s.smax !== S64_MAX) parts.push(`smax=${s.smax}`);
  if (s.umin !== 0n) parts.push(`umin=${s.umin}`);
  if (s.umax !== U64) parts.push(`umax=${s.umax}`);
  if (s.t.mask !== U64) parts.push(`var_off=(0x${s.t.value.toString(16)}; 0x${s.t.mask.toString(16)})`);
  return parts.length ? `(${parts.join(',')})` : '';
}
