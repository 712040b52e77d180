/**
 * Scalar values as the kernel verifier tracks them: a tnum plus unsigned and signed 64-bit bounds and
 * unsigned and signed 32-bit bounds of the low half, kept consistent with each other after every step
 * (the kernel's reg_bounds_sync, bounds-sync.ts). The transfer functions (scalar-ops.ts) are deliberately
 * never sharper than the kernel's: a bound the kernel does not know must not let bpfkit accept a program
 * the kernel refuses, so where the kernel gives up (division, negation, byte swaps, shifts by a register)
 * so does bpfkit.
 */
import { U64, type Tnum, tconst, tisConst, tlow32, tunknown } from './tnum.js';
import { FULL32, boundsSync, singleMemberOf } from './bounds-sync.js';
import { NOT_LOW_HALF, syncLowHalf } from './sync-low-half.js';
import { NOT_SMALL, syncSmall } from './sync-small.js';

/**
 * A scalar: what is known of a 64-bit register value. Signed 64-bit bounds are signed BigInts; the
 * 32-bit bounds (the kernel's u32_min_value... s32_max_value) describe the low half and are JavaScript
 * numbers, signed ones signed. The kernel keeps them beside the 64-bit ones because 32-bit compares and
 * arithmetic teach it about the low half what no 64-bit range could hold (a value whose low half is at
 * least 4 whatever its high half), and it proves code dead with them.
 */
export interface Scalar {
  readonly t: Tnum;
  readonly umin: bigint;
  readonly umax: bigint;
  readonly smin: bigint;
  readonly smax: bigint;
  readonly u32min: number;
  readonly u32max: number;
  readonly s32min: number;
  readonly s32max: number;
}

/** The 32-bit bounds of a scalar. */
export type Bounds32 = Pick<Scalar, 'u32min' | 'u32max' | 's32min' | 's32max'>;

const S64_MIN = -(1n << 63n);
const S64_MAX = (1n << 63n) - 1n;
const U32 = 0xffffffffn;
const S32_MIN = -0x80000000;
const S32_MAX = 0x7fffffff;
const s64 = (v: bigint) => BigInt.asIntN(64, v);
const u64 = (v: bigint) => BigInt.asUintN(64, v);

/**
 * A scalar made by the one object literal every scalar comes from. V8 gives objects from one literal
 * (and from literals of the same fields in the same order) one hidden class; a spread copy gets another,
 * and scalars of many classes made every property read in the walk megamorphic (a fifth slower).
 */
export function mkScalar(
  t: Tnum,
  umin: bigint,
  umax: bigint,
  smin: bigint,
  smax: bigint,
  u32min: number,
  u32max: number,
  s32min: number,
  s32max: number,
): Scalar {
  return { t, umin, umax, smin, smax, u32min, u32max, s32min, s32max };
}

/** A copy of a scalar with some facts replaced (instead of a spread, which changes the hidden class). */
export function withFacts(s: Scalar, f: Partial<Scalar>): Scalar {
  return mkScalar(
    f.t ?? s.t,
    f.umin ?? s.umin,
    f.umax ?? s.umax,
    f.smin ?? s.smin,
    f.smax ?? s.smax,
    f.u32min ?? s.u32min,
    f.u32max ?? s.u32max,
    f.s32min ?? s.s32min,
    f.s32max ?? s.s32max,
  );
}

/** Nothing known. */
export const UNKNOWN: Scalar = mkScalar(tunknown, 0n, U64, S64_MIN, S64_MAX, 0, 0xffffffff, S32_MIN, S32_MAX);

/** A known constant (taken modulo 2^64). */
export function known(v: bigint): Scalar {
  const u = u64(v);
  const lo = Number(u & U32);
  return mkScalar(tconst(u), u, u, s64(u), s64(u), lo, lo, lo | 0, lo | 0);
}

/** Any value in [0, 2^bits). */
export function unsignedBits(bits: number): Scalar {
  const top = (1n << BigInt(bits)) - 1n;
  return must(sync(withFacts(UNKNOWN, { t: { value: 0n, mask: top }, umax: top })));
}

/** Any value of a signed `bits`-bit integer, sign-extended to 64 bits. */
export function signedBits(bits: number): Scalar {
  if (bits >= 64) return UNKNOWN;
  const half = 1n << BigInt(bits - 1);
  return sync(withFacts(UNKNOWN, { smin: -half, smax: half - 1n })) ?? UNKNOWN;
}

/** True for a constant. */
export const isConst = (s: Scalar): boolean => tisConst(s.t);

/**
 * Make the tnum, the 64-bit and the 32-bit bounds agree (the kernel's reg_bounds_sync, bounds-sync.ts).
 * Returns undefined when they contradict: no value satisfies them (a branch that cannot be taken).
 */
export function sync(s: Scalar): Scalar | undefined {
  const t = s.t;
  if (t.mask === 0n) {
    // A constant tnum pins every bound: the general rounds come to the same, far more slowly.
    const v = t.value;
    const sv = s64(v);
    const lo = Number(v & U32);
    // __update_reg64_bounds: a constant tnum outside the unsigned range is still the constant (the range
    // and the tnum share one value, or none, and ___mark_reg_known pins it either way).
    if (v < s.umin || v > s.umax) return known(v);
    if (sv < s.smin || sv > s.smax) return undefined;
    if (lo < s.u32min || lo > s.u32max || (lo | 0) < s.s32min || (lo | 0) > s.s32max) return undefined;
    const pinned = s.umin === v && s.umax === v && s.smin === sv && s.smax === sv;
    return pinned && s.u32min === lo && s.u32max === lo && s.s32min === (lo | 0) && s.s32max === (lo | 0)
      ? s
      : known(v);
  }
  // The fast paths leave out __update_reg64_bounds' single-value rule: it is asked at the sync's start
  // and end (a result it pins is a constant, which nothing in between changes); a contradiction is
  // left to the full sync, where the rule may still pin a value.
  const first = singleMemberOf(s);
  if (first !== undefined) return known(first);
  const small = syncSmall(s);
  const fast = small !== NOT_SMALL ? small : syncLowHalf(s);
  if (fast === NOT_LOW_HALF || fast === undefined) return boundsSync(s);
  const last = singleMemberOf(fast);
  return last === undefined ? fast : known(last);
}

/** A result that cannot contradict itself (sound transfer functions); unknown if it ever did. */
export const must = (s: Scalar | undefined): Scalar => s ?? UNKNOWN;

/**
 * zext_32_to_64: the low half alone, zero-extended — what a 32-bit operation writes. The 64-bit bounds
 * become the unsigned 32-bit ones, the signed ones too when the low half is known non-negative.
 */
export function low32(s: Scalar): Scalar {
  if (s.umax <= U32 && s.smin >= 0n) return s;
  return must(sync(assign32(s, tlow32(s.t))));
}

/** A zero-extended 32-bit result: tnum `t` (low half only) and 32-bit bounds `b` (__reg_assign_32_into_64). */
function assign32(b: Bounds32, t: Tnum): Scalar {
  const nonNeg = b.s32min >= 0;
  return {
    t,
    umin: BigInt(b.u32min),
    umax: BigInt(b.u32max),
    smin: nonNeg ? BigInt(b.s32min) : 0n,
    smax: nonNeg ? BigInt(b.s32max) : U32,
    u32min: b.u32min,
    u32max: b.u32max,
    s32min: b.s32min,
    s32max: b.s32max,
  };
}

/** The result of a 32-bit ALU operation: its low-half tnum and 32-bit bounds, zero-extended and synced. */
export function result32(t: Tnum, b: Bounds32): Scalar {
  return must(sync(assign32(b, tlow32(t))));
}

/**
 * coerce_reg_to_size: the low `size` bytes (1, 2, 4) zero-extended, as a narrow load or fill reads them.
 * The tnum's low bits stay known; the 64-bit bounds survive when the high parts agree; the 32-bit
 * bounds survive a 4-byte cut and are recomputed for narrower ones.
 */
export function truncate(s: Scalar, size: number): Scalar {
  if (size === 8) return s;
  const top = (1n << BigInt(size * 8)) - 1n;
  if (s.umax <= top && s.smin >= 0n) return s;
  if (isConst(s)) return known(s.t.value & top);
  const t = { value: s.t.value & top, mask: s.t.mask & top };
  const same = (s.umin & ~top) === (s.umax & ~top);
  const umin = same ? s.umin & top : 0n;
  const umax = same ? s.umax & top : top;
  const b32: Bounds32 = size < 4 ? FULL32 : s;
  return must(sync(mkScalar(t, umin, umax, umin, umax, b32.u32min, b32.u32max, b32.s32min, b32.s32max)));
}

/**
 * Does `outer` hold every value `inner` may take? (state pruning, the kernel's range_within and tnum_in:
 * the 32-bit bounds too, or a state whose low half was proven small would cover one where it is not.)
 */
export function contains(outer: Scalar, inner: Scalar): boolean {
  if (outer === inner) return true;
  return (
    outer.umin <= inner.umin &&
    outer.umax >= inner.umax &&
    outer.smin <= inner.smin &&
    outer.smax >= inner.smax &&
    outer.u32min <= inner.u32min &&
    outer.u32max >= inner.u32max &&
    outer.s32min <= inner.s32min &&
    outer.s32max >= inner.s32max &&
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
    a.u32min === b.u32min &&
    a.u32max === b.u32max &&
    a.s32min === b.s32min &&
    a.s32max === b.s32max &&
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
