/**
 * The kernel's Internet-checksum arithmetic (include/net/checksum.h, net/core/utils.c), on numbers as the
 * program sees them: a 16-bit checksum field is loaded from packet memory in host (little-endian) order and
 * the `from`/`to` values a program passes are already in that representation, so the one's-complement
 * sums come out exactly as the kernel computes them on a little-endian machine.
 */

/** csum_add: 32-bit add with end-around carry. */
export function csumAdd(a: number, b: number): number {
  const s = (a >>> 0) + (b >>> 0);
  return (s >= 0x100000000 ? s - 0xffffffff : s) >>> 0;
}

/** csum_sub: a + ~b with end-around carry. */
export function csumSub(a: number, b: number): number {
  return csumAdd(a, ~b >>> 0);
}

/** csum_fold: fold a 32-bit sum to 16 bits and complement it. */
export function csumFold(sum: number): number {
  let s = sum >>> 0;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** csum_from32to16: fold to 16 bits without complementing (bpf_csum_diff's result since Linux 6.13). */
export function csumFrom32To16(x: number): number {
  x >>>= 0;
  const r = (x + (((x >>> 16) | (x << 16)) >>> 0)) >>> 0;
  // the kernel adds in 32 bits and keeps the upper half: (x + rol16(x)) >> 16, dropping the carry out
  return r >>> 16;
}

/** csum16_add with end-around carry on 16 bits. */
function csum16Add(sum: number, addend: number): number {
  const r = (sum & 0xffff) + (addend & 0xffff);
  return (r + (r >>> 16)) & 0xffff;
}

/** csum_replace2: *sum = ~csum16_add(csum16_sub(~*sum, old), new). */
export function csumReplace2(sum: number, from: number, to: number): number {
  return ~csum16Add(csum16Add(~sum & 0xffff, ~from & 0xffff), to) & 0xffff;
}

/**
 * csum_replace4: *sum = csum_fold(csum_add(csum_sub(~csum_unfold(*sum), from), to)). The complement is
 * of the 32-bit unfolded sum (0xffff0000 | ~sum): a 16-bit one gives the other zero (0xffff for 0) when
 * the result is zero, which the kernel does not.
 */
export function csumReplace4(sum: number, from: number, to: number): number {
  return csumFold(csumAdd(csumSub(~sum >>> 0, from), to));
}

/** csum_replace_by_diff: *sum = csum_fold(csum_add(diff, ~csum_unfold(*sum))) (a 32-bit complement, as above). */
export function csumReplaceByDiff(sum: number, diff: number): number {
  return csumFold(csumAdd(diff, ~sum >>> 0));
}

/**
 * csum_partial on a little-endian machine: the one's-complement sum of the buffer's 32-bit little-endian
 * words and the seed; a trailing 2-byte and 1-byte rest are added as little-endian values, as x86's does.
 */
export function csumPartial(bytes: Uint8Array, off: number, len: number, seed: number): number {
  let s = seed >>> 0;
  let i = 0;
  for (; i + 3 < len; i += 4) {
    const w =
      (bytes[off + i]! | (bytes[off + i + 1]! << 8) | (bytes[off + i + 2]! << 16) | (bytes[off + i + 3]! << 24)) >>> 0;
    s = csumAdd(s, w);
  }
  if (i + 1 < len) {
    s = csumAdd(s, bytes[off + i]! | (bytes[off + i + 1]! << 8));
    i += 2;
  }
  if (i < len) s = csumAdd(s, bytes[off + i]!);
  return s;
}

/** Full RFC 1071 checksum of a byte range, as the value stored in a header (network order). For tests/tools. */
export function internetChecksum(bytes: Uint8Array, off = 0, len = bytes.length - off, initial = 0): number {
  let s = initial;
  for (let i = 0; i + 1 < len; i += 2) s += (bytes[off + i]! << 8) | bytes[off + i + 1]!;
  if (len & 1) s += bytes[off + len - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
