/**
 * Tristate numbers, as the kernel verifier's `tnum`: a 64-bit value whose bits are each known 0, known 1
 * or unknown. `value` holds the known ones, `mask` the unknown ones (a bit is never set in both). BigInt
 * keeps 64-bit arithmetic exact; the verifier runs off the hot path of packet processing.
 */

/** All 64 bits set. */
export const U64 = (1n << 64n) - 1n;

/** A tristate number: `value` = known-1 bits, `mask` = unknown bits. */
export interface Tnum {
  readonly value: bigint;
  readonly mask: bigint;
}

/** A constant. */
export const tconst = (v: bigint): Tnum => ({ value: v & U64, mask: 0n });
/** Nothing known. */
export const tunknown: Tnum = { value: 0n, mask: U64 };

/** Number of significant bits of a non-negative value (without a string round trip). */
function bitLength(v: bigint): number {
  const hi = Number(v >> 32n);
  return hi > 0 ? 64 - Math.clz32(hi) : 32 - Math.clz32(Number(v & 0xffffffffn));
}

/** The smallest tnum holding every value of [min, max] (unsigned). */
export function trange(min: bigint, max: bigint): Tnum {
  const chi = min ^ max;
  if (chi === 0n) return tconst(min);
  const bits = BigInt(bitLength(chi));
  if (bits > 63n) return tunknown;
  const delta = (1n << bits) - 1n;
  return { value: min & ~delta & U64, mask: delta };
}

/** a + b. */
export function tadd(a: Tnum, b: Tnum): Tnum {
  const sm = (a.mask + b.mask) & U64;
  const sv = (a.value + b.value) & U64;
  const sigma = (sm + sv) & U64;
  const chi = sigma ^ sv;
  const mu = chi | a.mask | b.mask;
  return { value: sv & ~mu & U64, mask: mu & U64 };
}

/** a - b. */
export function tsub(a: Tnum, b: Tnum): Tnum {
  const dv = (a.value - b.value) & U64;
  const alpha = (dv + a.mask) & U64;
  const beta = (dv - b.mask) & U64;
  const chi = alpha ^ beta;
  const mu = chi | a.mask | b.mask;
  return { value: dv & ~mu & U64, mask: mu & U64 };
}

/** a & b. */
export function tand(a: Tnum, b: Tnum): Tnum {
  const alpha = a.value | a.mask;
  const beta = b.value | b.mask;
  const v = a.value & b.value;
  return { value: v, mask: alpha & beta & ~v & U64 };
}

/** a | b. */
export function tor(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask | b.mask;
  return { value: v, mask: mu & ~v & U64 };
}

/** a ^ b. */
export function txor(a: Tnum, b: Tnum): Tnum {
  const v = a.value ^ b.value;
  const mu = a.mask | b.mask;
  return { value: v & ~mu & U64, mask: mu };
}

/** a << k. */
export const tlsh = (a: Tnum, k: number): Tnum => ({
  value: (a.value << BigInt(k)) & U64,
  mask: (a.mask << BigInt(k)) & U64,
});
/** a >> k (logical). */
export const trsh = (a: Tnum, k: number): Tnum => ({ value: a.value >> BigInt(k), mask: a.mask >> BigInt(k) });

/** a >> k (arithmetic, in `width` bits). */
export function tarsh(a: Tnum, k: number, width: 32 | 64): Tnum {
  const s = (x: bigint) => BigInt.asUintN(width, BigInt.asIntN(width, x) >> BigInt(k));
  return { value: s(a.value), mask: s(a.mask) };
}

/** The low 32 bits. */
export const tlow32 = (a: Tnum): Tnum => ({ value: a.value & 0xffffffffn, mask: a.mask & 0xffffffffn });

/** Bits known in both (the values both may take). */
export function tintersect(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask & b.mask;
  return { value: v & ~mu & U64, mask: mu };
}

/** Does `a` hold every value `b` may take? */
export const tin = (a: Tnum, b: Tnum): boolean => (b.mask & ~a.mask) === 0n && (b.value & ~a.mask) === a.value;

/** True when every bit is known. */
export const tisConst = (a: Tnum): boolean => a.mask === 0n;

/** The kernel's text for a tnum: (0x0; 0xff). */
export const tstr = (a: Tnum): string => `(0x${a.value.toString(16)}; 0x${a.mask.toString(16)})`;

/** The low `bits` bits (16, 32 or 64) of a, with their bytes in reverse order (tnum_bswap16/32/64). */
export function tbswap(a: Tnum, bits: number): Tnum {
  const swap = (v: bigint) => {
    let out = 0n;
    for (let i = 0; i < bits / 8; i++) out = (out << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
    return out;
  };
  return { value: swap(a.value), mask: swap(a.mask) };
}

/** The low `bits` bits of a, the others known zero (a truncating byte-order conversion, `le16`). */
export const ttrunc = (a: Tnum, bits: number): Tnum => {
  const m = (1n << BigInt(bits)) - 1n;
  return { value: a.value & m, mask: a.mask & m };
};

/** The values either of a or b may take (tnum_union). */
function tunion(a: Tnum, b: Tnum): Tnum {
  const mu = (a.value ^ b.value) | a.mask | b.mask;
  return { value: a.value & b.value & ~mu & U64, mask: mu & U64 };
}

/**
 * a * b, bit by bit of a (Linux 6.17+'s tnum_mul): a certain 1 adds b shifted to it, an unknown bit
 * joins the sums with and without it.
 */
export function tmul(a: Tnum, b: Tnum): Tnum {
  let acc: Tnum = { value: 0n, mask: 0n };
  let x = a;
  let y = b;
  while (x.value !== 0n || x.mask !== 0n) {
    if (x.value & 1n) acc = tadd(acc, y);
    else if (x.mask & 1n) acc = tunion(acc, tadd(acc, y));
    x = trsh(x, 1);
    y = tlsh(y, 1);
  }
  return acc;
}

/**
 * The kernel's tnum_step: the smallest member of `t` greater than `z`; `t`'s largest member when `z` is
 * at or past it, its smallest when `z` is below that.
 */
export function tstep(t: Tnum, z: bigint): bigint {
  const tmax = t.value | t.mask;
  if (z >= tmax) return tmax;
  if (z < t.value) return t.value;
  // A constant number of steps, not a walk over 64 bits: sync() asks this on every register it settles.
  // c is j with t's known bits put in. Where c first differs from j (bit h, from the top) decides: a known 1
  // over j's 0 makes c's top bits, then the least below h, the answer; a known 0 over j's 1 needs an
  // unknown bit above h that j has 0 in (the lowest such p) set, and the least below p.
  const j = z + 1n;
  const c = t.value | (j & t.mask);
  const diff = c ^ j;
  if (diff === 0n) return j;
  const below = (1n << BigInt(diff.toString(2).length - 1)) - 1n; // the bits under h
  if (c > j) return (c & ~below & U64) | (t.value & below);
  const free = t.mask & ~c & ~((below << 1n) | 1n) & U64;
  if (free === 0n) return tmax; // (unreachable while z < tmax: a larger member exists)
  const p = free & -free;
  return (c & ~((p << 1n) - 1n) & U64) | p | (t.value & (p - 1n));
}
