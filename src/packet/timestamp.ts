/**
 * 64-bit timestamp arithmetic without BigInt. pcapng stores a timestamp as a 64-bit count of
 * "ticks" (if_tsresol); nanosecond ticks since 1970 exceed 2^53, so plain doubles lose digits.
 * These helpers split the value into whole seconds and nanoseconds exactly, using 16-bit limbs
 * where needed, and fall back to BigInt only for exotic resolutions (finer than ~10 ps).
 */

const TWO32 = 4294967296;
const TWO16 = 65536;

/** A resolution: ticks per second, and how to turn a remainder of ticks into nanoseconds. */
export interface TsResolution {
  /** ticks per second (10^k or 2^k) */
  readonly ticksPerSec: number;
  /** true when ticksPerSec is a power of 10 */
  readonly decimal: boolean;
  /** decimal exponent or binary exponent */
  readonly exponent: number;
}

/** Decode the if_tsresol option byte: MSB clear = 10^-n, MSB set = 2^-n. */
export function tsResolution(optionByte: number): TsResolution {
  const exponent = optionByte & 0x7f;
  const decimal = (optionByte & 0x80) === 0;
  return { ticksPerSec: decimal ? 10 ** exponent : 2 ** exponent, decimal, exponent };
}

export const MICROSECONDS: TsResolution = tsResolution(6);
export const NANOSECONDS: TsResolution = tsResolution(9);

/** Output slots so the per-packet split allocates nothing. */
export interface SecNsec {
  sec: number;
  nsec: number;
  /** splitTicks: the exact seconds, set when `sec` is 2^53 or more (then only the nearest double) */
  big?: bigint;
}

/**
 * Split (hi * 2^32 + lo) ticks into seconds + nanoseconds (floored). Writes into `out`.
 */
export function splitTicks(hi: number, lo: number, res: TsResolution, out: SecNsec): void {
  const d = res.ticksPerSec;
  let sec: number;
  let rem: number;
  if (d === 1e9) {
    // Nanoseconds (the common pcapng case past 2^53): 2^48 = 281474 s + 976710656 ns and
    // 2^32 = 4 s + 294967296 ns, so one exact division of a sum below 2^47 does it.
    const hiH = hi >>> 16;
    const hiL = hi & 0xffff;
    const r = hiH * 976710656 + hiL * 294967296 + lo;
    const q = Math.floor(r / 1e9);
    out.sec = hiH * 281474 + hiL * 4 + q;
    out.nsec = r - q * 1e9;
    return;
  }
  if (hi < 0x200000) {
    // Below 2^53: exact in a double.
    const v = hi * TWO32 + lo;
    sec = Math.floor(v / d);
    rem = v - sec * d;
  } else if (d <= 2 ** 36) {
    // Long division in 16-bit limbs: every partial (rem * 2^16 + limb) stays below 2^53.
    let r = 0;
    let q = 0;
    const limbs0 = hi >>> 16;
    const limbs1 = hi & 0xffff;
    const limbs2 = lo >>> 16;
    const limbs3 = lo & 0xffff;
    let x = r * TWO16 + limbs0;
    let qd = Math.floor(x / d);
    r = x - qd * d;
    q = qd;
    x = r * TWO16 + limbs1;
    qd = Math.floor(x / d);
    r = x - qd * d;
    q = q * TWO16 + qd;
    x = r * TWO16 + limbs2;
    qd = Math.floor(x / d);
    r = x - qd * d;
    q = q * TWO16 + qd;
    x = r * TWO16 + limbs3;
    qd = Math.floor(x / d);
    r = x - qd * d;
    q = q * TWO16 + qd;
    sec = q;
    rem = r;
    // Past 2^53 (ticks of a second, or of a few ms, near 2^64) the quotient's last digits were rounded:
    // the exact seconds as a bigint, which only these records pay for.
    if (q >= 2 ** 53) out.big = ((BigInt(hi) << 32n) | BigInt(lo)) / BigInt(d);
  } else {
    const v = (BigInt(hi) << 32n) | BigInt(lo);
    const bd = BigInt(d);
    sec = Number(v / bd);
    rem = Number(v % bd);
  }
  out.sec = sec;
  out.nsec = ticksToNanos(rem, res);
}

function ticksToNanos(rem: number, res: TsResolution): number {
  if (res.decimal) {
    if (res.exponent === 9) return rem;
    if (res.exponent < 9) return rem * 10 ** (9 - res.exponent);
    return Math.floor(rem / 10 ** (res.exponent - 9));
  }
  // Binary fractions: rem / 2^k seconds. Exact enough: error far below one nanosecond.
  return Math.floor((rem / res.ticksPerSec) * 1e9);
}

/**
 * The inverse: seconds + nanoseconds to (hi, lo) ticks at microsecond or nanosecond resolution.
 * Writes hi into out.sec and lo into out.nsec (reusing the slot type). Exact for sec < 2^37.
 */
export function joinTicks(sec: number, nsec: number, nanosecond: boolean, out: SecNsec): void {
  const mult = nanosecond ? 1e9 : 1e6;
  const sub = nanosecond ? nsec : Math.floor(nsec / 1000);
  const secHi = Math.floor(sec / TWO16);
  const secLo = sec - secHi * TWO16;
  const a = secHi * mult; // exact: secHi < 2^21, mult < 2^30
  const b = secLo * mult + sub; // exact: < 2^46 + 2^30
  const aHi = Math.floor(a / TWO16);
  const t = (a - aHi * TWO16) * TWO16 + b; // < 2^32 + 2^46
  const carry = Math.floor(t / TWO32);
  out.nsec = t - carry * TWO32;
  out.sec = aHi + carry;
}
