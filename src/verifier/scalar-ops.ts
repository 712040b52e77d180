/**
 * Transfer functions of scalar ALU operations, 64- and 32-bit (the kernel's scalar_min_max_* and
 * scalar32_min_max_*). A 64-bit operation computes the 64-bit bounds and, beside them, the low half's
 * 32-bit bounds from the operands' 32-bit bounds; a 32-bit one computes the 32-bit bounds only and
 * zero-extends them (zext_32_to_64). Shifts by a constant are the exception, as in the kernel: bits move
 * across the halves, so the half not computed is left unknown and recovered from the tnum.
 *
 * Additions, subtractions and multiplications follow Linux 6.18 (ends that both wrap keep the
 * interval; products of signed ranges from their corners, tnum_mul): a bound the kernel does not know
 * could let bpfkit prove dead, or prune, what the kernel walks and refuses, so each is checked
 * against the kernel's own state logs.
 */
import { FULL32 } from './bounds-sync.js';
import { type Bounds32, type Scalar, isConst, known, mkScalar, must, result32, sync } from './scalar.js';
import { U64, type Tnum, tadd, tand, tarsh, tlow32, tlsh, tmul, tor, trsh, tsub, txor } from './tnum.js';

const S64_MIN = -(1n << 63n);
const S64_MAX = (1n << 63n) - 1n;
const U32 = 0xffffffffn;
const U32_MAX = 0xffffffff;
const S32_MIN = -0x80000000;
const S32_MAX = 0x7fffffff;
const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);

/** Unsigned 32-bit bounds [lo, hi], signed ones unknown (the sync derives them when they can be). */
const u32Only = (lo: number, hi: number): Bounds32 => ({ u32min: lo, u32max: hi, s32min: S32_MIN, s32max: S32_MAX });

/** A 64-bit result: its tnum, 64-bit bounds and the low half's bounds, synced. */
function result64(t: Tnum, umin: bigint, umax: bigint, smin: bigint, smax: bigint, b: Bounds32): Scalar {
  return must(
    sync({ t, umin, umax, smin, smax, u32min: b.u32min, u32max: b.u32max, s32min: b.s32min, s32max: b.s32max }),
  );
}

/**
 * A sum or difference's bounds [lo, hi] computed exactly, in a type spanning [low, high]: kept when
 * neither end left the type, moved back by one span when both left it on the same side (the results
 * still form one interval), given up (undefined) when only one did — Linux 6.18's scalar_min_max_add and
 * _sub (checked: `0 - (x | 8)` has umin 1).
 */
function wrapBoth(lo: bigint, hi: bigint, low: bigint, high: bigint): [bigint, bigint] | undefined {
  const span = high - low + 1n;
  if (lo >= low && hi <= high) return [lo, hi];
  if (lo > high) return [lo - span, hi - span];
  if (hi < low) return [lo + span, hi + span];
  return undefined;
}

/** The 32-bit bounds of a sum or difference from its exact ends (wrapBoth on each kind). */
function bounds32(slo: number, shi: number, ulo: number, uhi: number): Bounds32 {
  const s = wrapBoth(BigInt(slo), BigInt(shi), BigInt(S32_MIN), BigInt(S32_MAX));
  const u = wrapBoth(BigInt(ulo), BigInt(uhi), 0n, U32);
  return {
    u32min: u ? Number(u[0]) : 0,
    u32max: u ? Number(u[1]) : U32_MAX,
    s32min: s ? Number(s[0]) : S32_MIN,
    s32max: s ? Number(s[1]) : S32_MAX,
  };
}

/** scalar32_min_max_add. */
const add32 = (a: Scalar, b: Scalar): Bounds32 =>
  bounds32(a.s32min + b.s32min, a.s32max + b.s32max, a.u32min + b.u32min, a.u32max + b.u32max);

/** scalar32_min_max_sub. */
const sub32 = (a: Scalar, b: Scalar): Bounds32 =>
  bounds32(a.s32min - b.s32max, a.s32max - b.s32min, a.u32min - b.u32max, a.u32max - b.u32min);

/**
 * scalar_min_max_add: a + b with each sum that may overflow giving up its kind of bound, both halves,
 * not synced.
 */
function sum(a: Scalar, b: Scalar): Scalar {
  const u = wrapBoth(a.umin + b.umin, a.umax + b.umax, 0n, U64) ?? [0n, U64];
  const sg = wrapBoth(a.smin + b.smin, a.smax + b.smax, S64_MIN, S64_MAX) ?? [S64_MIN, S64_MAX];
  const b32 = add32(a, b);
  return mkScalar(tadd(a.t, b.t), u[0], u[1], sg[0], sg[1], b32.u32min, b32.u32max, b32.s32min, b32.s32max);
}

/** a + b. */
export function add(a: Scalar, b: Scalar, is32 = false): Scalar {
  if (is32) return result32(tadd(a.t, b.t), add32(a, b));
  return must(sync(sum(a, b)));
}

/**
 * a + k for a constant k, without the sync (sync_linked_regs adds a linked register's distance this
 * way and leaves the result as it is).
 */
export function addUnsynced(a: Scalar, k: bigint): Scalar {
  return sum(a, known(k));
}

/** a - b. */
export function sub(a: Scalar, b: Scalar, is32 = false): Scalar {
  const t = tsub(a.t, b.t);
  if (is32) return result32(t, sub32(a, b));
  const u = wrapBoth(a.umin - b.umax, a.umax - b.umin, 0n, U64) ?? [0n, U64];
  const sg = wrapBoth(a.smin - b.smax, a.smax - b.smin, S64_MIN, S64_MAX) ?? [S64_MIN, S64_MAX];
  return result64(t, u[0], u[1], sg[0], sg[1], sub32(a, b));
}

/** The smallest and largest of the four corner products of two ranges, or undefined past [lo, hi]. */
function corners(
  alo: bigint,
  ahi: bigint,
  blo: bigint,
  bhi: bigint,
  lo: bigint,
  hi: bigint,
): [bigint, bigint] | undefined {
  const p = [alo * blo, alo * bhi, ahi * blo, ahi * bhi];
  if (p.some((x) => x < lo || x > hi)) return undefined;
  return [p.reduce(min), p.reduce(max)];
}

/** scalar32_min_max_mul: unsigned bounds unless a product may wrap, signed ones from the corners. */
function mul32(a: Scalar, b: Scalar): Bounds32 {
  const ulo = a.u32min * b.u32min;
  const uhi = a.u32max * b.u32max;
  const u = uhi <= U32_MAX ? [ulo, uhi] : [0, U32_MAX];
  const sg = corners(
    BigInt(a.s32min),
    BigInt(a.s32max),
    BigInt(b.s32min),
    BigInt(b.s32max),
    BigInt(S32_MIN),
    BigInt(S32_MAX),
  );
  return { u32min: u[0]!, u32max: u[1]!, s32min: sg ? Number(sg[0]) : S32_MIN, s32max: sg ? Number(sg[1]) : S32_MAX };
}

/**
 * a * b as Linux 6.18 bounds it (scalar_min_max_mul and its 32-bit twin): unsigned bounds unless a
 * product may wrap, signed ones from the four corner products unless one may overflow, the tnum by
 * tnum_mul. A 32-bit multiplication takes the low halves' bounds and zero-extends.
 */
export function mul(a: Scalar, b: Scalar, is32 = false): Scalar {
  const t = tmul(a.t, b.t);
  if (is32) return result32(tlow32(t), mul32(a, b));
  if (isConst(a) && isConst(b)) return known(a.t.value * b.t.value);
  const uhi = a.umax * b.umax;
  const [umin, umax] = uhi <= U64 ? [a.umin * b.umin, uhi] : [0n, U64];
  const sg = corners(a.smin, a.smax, b.smin, b.smax, S64_MIN, S64_MAX) ?? [S64_MIN, S64_MAX];
  return result64(t, umin, umax, sg[0], sg[1], mul32(a, b));
}

/** a & b: the minimum from the known bits, the maximum from the smaller operand. */
export function and(a: Scalar, b: Scalar, is32 = false): Scalar {
  const t = tand(a.t, b.t);
  const b32 = u32Only(Number(t.value & U32), Math.min(a.u32max, b.u32max));
  if (is32) return result32(t, b32);
  const umax = min(a.umax, b.umax);
  const nonNeg = a.smin >= 0n && b.smin >= 0n;
  return result64(t, t.value, umax, nonNeg ? 0n : S64_MIN, nonNeg ? umax : S64_MAX, b32);
}

/** a | b: the minimum from the larger operand, the maximum from the possible bits. */
export function or(a: Scalar, b: Scalar, is32 = false): Scalar {
  const t = tor(a.t, b.t);
  const b32 = u32Only(Math.max(a.u32min, b.u32min), Number((t.value | t.mask) & U32));
  if (is32) return result32(t, b32);
  return result64(t, max(a.umin, b.umin), t.value | t.mask, S64_MIN, S64_MAX, b32);
}

/** a ^ b: bounds from the known and possible bits only. */
export function xor(a: Scalar, b: Scalar, is32 = false): Scalar {
  const t = txor(a.t, b.t);
  const b32 = u32Only(Number(t.value & U32), Number((t.value | t.mask) & U32));
  if (is32) return result32(t, b32);
  return result64(t, t.value, t.value | t.mask, S64_MIN, S64_MAX, b32);
}

/** __scalar32_min_max_lsh: the unsigned 32-bit bounds move when no set bit can leave the half. */
function lsh32(a: Scalar, k: number): Bounds32 {
  if (k > 31 || a.u32max > 2 ** (31 - k)) return FULL32;
  return u32Only(a.u32min * 2 ** k, a.u32max * 2 ** k);
}

/** a << k for a constant k below the width. */
export function lsh(a: Scalar, k: number, is32 = false): Scalar {
  if (is32) return result32(tlsh(tlow32(a.t), k), lsh32(a, k));
  const K = BigInt(k);
  // `<< 32` then `s>> 32` is how compilers sign-extend a low half: a non-negative half keeps its bounds.
  const smin = k === 32 && a.s32min >= 0 ? BigInt(a.s32min) << 32n : S64_MIN;
  const smax = k === 32 && a.s32max >= 0 ? BigInt(a.s32max) << 32n : S64_MAX;
  let umin = 0n;
  let umax = U64;
  if (a.umax <= 1n << BigInt(63 - k)) [umin, umax] = [a.umin << K, a.umax << K];
  return result64(tlsh(a.t, k), umin, umax, smin, smax, lsh32(a, k));
}

/** a >> k (logical) for a constant k below the width. */
export function rsh(a: Scalar, k: number, is32 = false): Scalar {
  if (is32) return result32(trsh(tlow32(a.t), k), u32Only(a.u32min >>> k, a.u32max >>> k));
  const K = BigInt(k);
  return result64(trsh(a.t, k), a.umin >> K, a.umax >> K, S64_MIN, S64_MAX, FULL32);
}

/** a >> k (arithmetic) for a constant k below the width. */
export function arsh(a: Scalar, k: number, is32 = false): Scalar {
  if (is32) {
    const b32 = { u32min: 0, u32max: U32_MAX, s32min: a.s32min >> k, s32max: a.s32max >> k };
    return result32(tarsh(tlow32(a.t), k, 32), b32);
  }
  const K = BigInt(k);
  return result64(tarsh(a.t, k, 64), 0n, U64, a.smin >> K, a.smax >> K, FULL32);
}
