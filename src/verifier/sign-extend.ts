/**
 * Sign-extending moves (`r1 = (s8)r2`, `w1 = (s16)w2`), as the kernel's coerce_reg_to_size_sx and
 * coerce_subreg_to_size_sx bound them: a 64-bit source whose signed range the type holds is unchanged;
 * when the source's signed range lies within one block of 2^bits
 * values and its ends extend to the same sign, the result is that range (and its tnum_range — the
 * source's own tnum is dropped, so bpfkit drops it too); otherwise the type's signed range. The 64-bit
 * form leaves its result unsynced, as the kernel does: syncing would deduce what the kernel does not.
 */
import { FULL32 } from './bounds-sync.js';
import { type Scalar, known, mkScalar, result32 } from './scalar.js';
import { U64, tlow32, trange, tunknown } from './tnum.js';

const sext = (v: bigint, bits: number): bigint => BigInt.asIntN(bits, v);

/** `r = (sN)r`, N = 8, 16 or 32 (coerce_reg_to_size_sx). */
export function signExtend64(s: Scalar, bits: number): Scalar {
  if (s.t.mask === 0n) return known(sext(s.t.value, bits));
  const B = BigInt(bits);
  // A signed range the type holds already is extended to itself (Linux 6.18, checked: `(s32)` of a
  // value in [-128, 127] stays there; 6.12 gave the type's range when the ends' high blocks differed).
  if (s.smin >= -(1n << (B - 1n)) && s.smax < 1n << (B - 1n)) return s;
  const top = (v: bigint) => (BigInt.asUintN(64, v) >> B) << B;
  if (top(s.smax) === top(s.smin)) {
    const a = sext(s.smax, bits);
    const b = sext(s.smin, bits);
    const hi = a > b ? a : b;
    const lo = a > b ? b : a;
    if (hi >= 0n === lo >= 0n) {
      const ulo = BigInt.asUintN(64, lo);
      const uhi = BigInt.asUintN(64, hi);
      const l32 = Number(ulo & 0xffffffffn);
      const h32 = Number(uhi & 0xffffffffn);
      return {
        t: trange(ulo, uhi),
        umin: ulo,
        umax: uhi,
        smin: lo,
        smax: hi,
        u32min: l32,
        u32max: h32,
        s32min: l32 | 0,
        s32max: h32 | 0,
      };
    }
  }
  // set_sext64_default_val: the type's range; a 32-bit extension keeps the low half's signed bounds
  // (the low half does not change).
  const half = 1n << (B - 1n);
  const keep = bits === 32;
  return mkScalar(
    tunknown,
    0n,
    U64,
    -half,
    half - 1n,
    0,
    0xffffffff,
    keep ? s.s32min : -Number(half),
    keep ? s.s32max : Number(half) - 1,
  );
}

/** `w = (sN)w`, N = 8 or 16 (coerce_subreg_to_size_sx), zero-extended and synced. */
export function signExtend32(s: Scalar, bits: number): Scalar {
  if (s.t.mask === 0n) return known(BigInt.asUintN(32, sext(s.t.value, bits)));
  const top = (v: number) => ((v >>> 0) >>> bits) << bits;
  const half = 2 ** (bits - 1);
  const ext = (v: number) => (((v & (2 * half - 1)) ^ half) - half) | 0;
  if (top(s.s32max) === top(s.s32min)) {
    const a = ext(s.s32max);
    const b = ext(s.s32min);
    const hi = Math.max(a, b);
    const lo = Math.min(a, b);
    if (hi >= 0 === lo >= 0) {
      const t = tlow32(trange(BigInt.asUintN(64, BigInt(lo)), BigInt.asUintN(64, BigInt(hi))));
      return result32(t, { u32min: lo >>> 0, u32max: hi >>> 0, s32min: lo, s32max: hi });
    }
  }
  return result32(tlow32(tunknown), { u32min: FULL32.u32min, u32max: FULL32.u32max, s32min: -half, s32max: half - 1 });
}
