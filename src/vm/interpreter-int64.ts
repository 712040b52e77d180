/**
 * 64-bit integer arithmetic on (lo, hi) pairs of int32, for both engines. Registers never become BigInt
 * or doubles: add/sub/compare are done inline by the engines, and the operations below write their result
 * into the shared scratch `out` (out[0] = lo, out[1] = hi) so nothing is allocated per instruction.
 * Only 64-bit division/modulo with operands wider than 32 bits take a BigInt slow path.
 */

/** Result halves of the last operation. */
export const out = new Int32Array(2);

/** (ahi:alo) * (bhi:blo) mod 2^64. */
export function mul64(alo: number, ahi: number, blo: number, bhi: number): void {
  const a0 = alo & 0xffff;
  const a1 = alo >>> 16;
  const b0 = blo & 0xffff;
  const b1 = blo >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const carry = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  out[0] = Math.imul(alo, blo);
  out[1] = (carry + Math.imul(alo, bhi) + Math.imul(ahi, blo)) | 0;
}

function big(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
function fromBig(v: bigint): void {
  const u = BigInt.asUintN(64, v);
  out[0] = Number(u & 0xffffffffn) | 0;
  out[1] = Number(u >> 32n) | 0;
}

/** Unsigned 64-bit division; division by zero gives 0 (RFC 9669). */
export function div64u(alo: number, ahi: number, blo: number, bhi: number): void {
  if (blo === 0 && bhi === 0) {
    out[0] = 0;
    out[1] = 0;
  } else if (ahi === 0 && bhi === 0) {
    out[0] = ((alo >>> 0) / (blo >>> 0)) | 0; // exact for u32 operands (see docs/vm.md)
    out[1] = 0;
  } else fromBig(big(alo, ahi) / big(blo, bhi));
}

/** Unsigned 64-bit modulo; modulo by zero leaves the dividend. */
export function mod64u(alo: number, ahi: number, blo: number, bhi: number): void {
  if (blo === 0 && bhi === 0) {
    out[0] = alo;
    out[1] = ahi;
  } else if (ahi === 0 && bhi === 0) {
    out[0] = ((alo >>> 0) % (blo >>> 0)) | 0;
    out[1] = 0;
  } else fromBig(big(alo, ahi) % big(blo, bhi));
}

/** Signed 64-bit division (sdiv, off=1): by zero gives 0, INT64_MIN / -1 gives INT64_MIN. */
export function div64s(alo: number, ahi: number, blo: number, bhi: number): void {
  if (blo === 0 && bhi === 0) {
    out[0] = 0;
    out[1] = 0;
  } else if (ahi === alo >> 31 && bhi === blo >> 31 && !(alo === -0x80000000 && blo === -1)) {
    // both fit in int32: truncating division in doubles is exact
    const q = (alo / blo) | 0;
    out[0] = q;
    out[1] = q >> 31;
  } else fromBig(BigInt.asIntN(64, big(alo, ahi)) / BigInt.asIntN(64, big(blo, bhi)));
}

/** Signed 64-bit modulo (smod, off=1): by zero leaves the dividend; the sign follows the dividend. */
export function mod64s(alo: number, ahi: number, blo: number, bhi: number): void {
  if (blo === 0 && bhi === 0) {
    out[0] = alo;
    out[1] = ahi;
  } else if (ahi === alo >> 31 && bhi === blo >> 31) {
    const r = blo === -1 ? 0 : (alo % blo) | 0;
    out[0] = r;
    out[1] = r >> 31;
  } else fromBig(BigInt.asIntN(64, big(alo, ahi)) % BigInt.asIntN(64, big(blo, bhi)));
}

/** Logical shift left by n & 63. */
export function lsh64(lo: number, hi: number, n: number): void {
  n &= 63;
  if (n === 0) {
    out[0] = lo;
    out[1] = hi;
  } else if (n < 32) {
    out[1] = (hi << n) | (lo >>> (32 - n));
    out[0] = lo << n;
  } else {
    out[1] = lo << (n - 32);
    out[0] = 0;
  }
}

/** Logical shift right by n & 63. */
export function rsh64(lo: number, hi: number, n: number): void {
  n &= 63;
  if (n === 0) {
    out[0] = lo;
    out[1] = hi;
  } else if (n < 32) {
    out[0] = (lo >>> n) | (hi << (32 - n));
    out[1] = hi >>> n;
  } else {
    out[0] = hi >>> (n - 32);
    out[1] = 0;
  }
}

/** Arithmetic shift right by n & 63. */
export function arsh64(lo: number, hi: number, n: number): void {
  n &= 63;
  if (n === 0) {
    out[0] = lo;
    out[1] = hi;
  } else if (n < 32) {
    out[0] = (lo >>> n) | (hi << (32 - n));
    out[1] = hi >> n;
  } else {
    out[0] = hi >> (n - 32);
    out[1] = hi >> 31;
  }
}

/** Reverse the bytes of a 32-bit value. */
export function bswap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

/** Reverse the bytes of a 16-bit value (result zero-extended). */
export function bswap16(v: number): number {
  return ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
}

/** Unsigned 32-bit division/modulo with the eBPF by-zero rules. */
export function div32u(a: number, b: number): number {
  return b === 0 ? 0 : ((a >>> 0) / (b >>> 0)) | 0;
}
export function mod32u(a: number, b: number): number {
  return b === 0 ? a : ((a >>> 0) % (b >>> 0)) | 0;
}
export function div32s(a: number, b: number): number {
  if (b === 0) return 0;
  if (a === -0x80000000 && b === -1) return a;
  return (a / b) | 0;
}
export function mod32s(a: number, b: number): number {
  if (b === 0) return a;
  if (b === -1) return 0;
  return (a % b) | 0;
}
