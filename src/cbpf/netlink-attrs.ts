/**
 * The two netlink ancillary loads (SKF_AD_NLATTR, SKF_AD_NLATTR_NEST), as net/core/filter.c computes
 * them for a netlink socket's filter: find attribute type X in the attribute stream at offset A of the
 * message and return its offset, or 0. Attributes are {u16 len, u16 type} in host (little-endian) order,
 * padded to 4 bytes; the type's two top bits are flags and do not count.
 */

const NLA_HDRLEN = 4;
const NLA_TYPE_MASK = 0x3fff;

const u16 = (p: Uint8Array, at: number) => p[at]! | (p[at + 1]! << 8);

/** nla_find over [start, start + rem): the offset of the first attribute of `type`, or 0. */
function find(p: Uint8Array, start: number, rem: number, type: number): number {
  let at = start;
  while (rem >= NLA_HDRLEN && at + NLA_HDRLEN <= p.length) {
    const len = u16(p, at);
    if (len < NLA_HDRLEN || len > rem) return 0;
    if ((u16(p, at + 2) & NLA_TYPE_MASK) === type) return at;
    const step = (len + 3) & ~3;
    at += step;
    rem -= step;
  }
  return 0;
}

/** SKF_AD_NLATTR: attribute X among the attributes starting at A. */
export function nlattrFind(p: Uint8Array, len: number, a: number, x: number): number {
  if (len < NLA_HDRLEN || a > len - NLA_HDRLEN) return 0;
  return find(p, a, len - a, x);
}

/** SKF_AD_NLATTR_NEST: attribute X inside the nested attribute at A. */
export function nlattrFindNested(p: Uint8Array, len: number, a: number, x: number): number {
  if (len < NLA_HDRLEN || a > len - NLA_HDRLEN || a + 2 > p.length) return 0;
  const outer = u16(p, a);
  if (outer > len - a) return 0;
  return find(p, a + NLA_HDRLEN, outer - NLA_HDRLEN, x);
}
