/**
 * The URL sniffer's own per-packet decoder: from a link-layer frame to "a TCP segment of flow X with
 * payload P" in one pass, writing into one reused object (no allocation per packet). It knows exactly what
 * `bpfkit urls` needs — Ethernet with any number of 802.1Q/802.1ad tags, Linux cooked captures, raw IP,
 * IPv4 with options and fragments, IPv6 with its extension-header chain (fragments included) — and reports
 * everything else as "not TCP" so the caller can count it.
 */

export const enum FrameKind {
  /** A TCP segment: fields of DecodedFrame are valid. */
  Tcp = 0,
  /** Not IP/TCP (ARP, UDP, ICMP, ...). */
  Other = 1,
  /** An IP fragment: `fragment` fields are valid; reassemble before decoding TCP. */
  Fragment = 2,
  /** Truncated or inconsistent headers. */
  Malformed = 3,
}

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const ETH_P_8021Q = 0x8100;
const ETH_P_8021AD = 0x88a8;
const ETH_P_QINQ1 = 0x9100;
const IPPROTO_TCP = 6;

export class DecodedFrame {
  ipVersion = 4;
  /** IPv4: the address as an unsigned 32-bit number; IPv6: 0 (see srcOff). */
  src4 = 0;
  dst4 = 0;
  /** Offsets of the 16-byte IPv6 addresses in `bytes` (IPv6 only). */
  srcOff = 0;
  dstOff = 0;
  sport = 0;
  dport = 0;
  seq = 0;
  ack = 0;
  /** TCP flags byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16). */
  flags = 0;
  bytes: Uint8Array = new Uint8Array(0);
  payloadOff = 0;
  payloadLen = 0;
  /** Offset of the IP header in `bytes` (for fragments). */
  ipOff = 0;
  /** Fragment description (FrameKind.Fragment). */
  fragId = 0;
  fragOffset = 0;
  fragMore = false;
  /** Offset/length of the fragment's data, and the upper protocol it belongs to. */
  fragDataOff = 0;
  fragDataLen = 0;
  fragProto = 0;
  /** Length of the IP header(s) before the fragment data (to rebuild a datagram). */
  vlanDepth = 0;
}

export const TCP_FIN = 1;
export const TCP_SYN = 2;
export const TCP_RST = 4;
export const TCP_ACK = 16;

/** Linktypes we decode (LINKTYPE_* numbers). */
export const LT_NULL = 0;
export const LT_EN10MB = 1;
export const LT_RAW = 101;
export const LT_LOOP = 108;
export const LT_LINUX_SLL = 113;
export const LT_IPV4 = 228;
export const LT_IPV6 = 229;
export const LT_LINUX_SLL2 = 276;

/** Decode a frame of the given linktype at bytes[off, off+len). */
export function decodeFrame(bytes: Uint8Array, off: number, len: number, linktype: number, out: DecodedFrame): FrameKind {
  const end = off + len;
  out.bytes = bytes;
  out.vlanDepth = 0;
  let p = off;
  let ethertype: number;
  switch (linktype) {
    case LT_EN10MB: {
      if (len < 14) return FrameKind.Malformed;
      ethertype = (bytes[p + 12]! << 8) | bytes[p + 13]!;
      p += 14;
      while (ethertype === ETH_P_8021Q || ethertype === ETH_P_8021AD || ethertype === ETH_P_QINQ1) {
        if (p + 4 > end) return FrameKind.Malformed;
        ethertype = (bytes[p + 2]! << 8) | bytes[p + 3]!;
        p += 4;
        out.vlanDepth++;
      }
      break;
    }
    case LT_RAW:
    case LT_IPV4:
    case LT_IPV6:
      if (len < 1) return FrameKind.Malformed;
      ethertype = bytes[p]! >> 4 === 6 ? ETH_P_IPV6 : ETH_P_IP;
      break;
    case LT_LINUX_SLL:
      if (len < 16) return FrameKind.Malformed;
      ethertype = (bytes[p + 14]! << 8) | bytes[p + 15]!;
      p += 16;
      break;
    case LT_LINUX_SLL2:
      if (len < 20) return FrameKind.Malformed;
      ethertype = (bytes[p]! << 8) | bytes[p + 1]!;
      p += 20;
      break;
    case LT_NULL:
    case LT_LOOP: {
      if (len < 4) return FrameKind.Malformed;
      p += 4;
      if (p >= end) return FrameKind.Malformed;
      ethertype = bytes[p]! >> 4 === 6 ? ETH_P_IPV6 : ETH_P_IP;
      break;
    }
    default:
      return FrameKind.Other;
  }
  if (ethertype === ETH_P_IP) return decodeIpv4(bytes, p, end, out);
  if (ethertype === ETH_P_IPV6) return decodeIpv6(bytes, p, end, out);
  return FrameKind.Other;
}

/** Decode an IPv4 datagram starting at p (frames, or a reassembled datagram). */
export function decodeIpv4(bytes: Uint8Array, p: number, end: number, out: DecodedFrame): FrameKind {
  if (p + 20 > end) return FrameKind.Malformed;
  const vihl = bytes[p]!;
  if (vihl >> 4 !== 4) return FrameKind.Malformed;
  const ihl = (vihl & 15) * 4;
  const total = (bytes[p + 2]! << 8) | bytes[p + 3]!;
  if (ihl < 20 || total < ihl || p + ihl > end) return FrameKind.Malformed;
  // Trust the IP total length over the capture length (Ethernet padding), but never read past the capture.
  const ipEnd = Math.min(end, p + total);
  out.ipVersion = 4;
  out.ipOff = p;
  out.src4 = ((bytes[p + 12]! << 24) | (bytes[p + 13]! << 16) | (bytes[p + 14]! << 8) | bytes[p + 15]!) >>> 0;
  out.dst4 = ((bytes[p + 16]! << 24) | (bytes[p + 17]! << 16) | (bytes[p + 18]! << 8) | bytes[p + 19]!) >>> 0;
  const proto = bytes[p + 9]!;
  const fragField = (bytes[p + 6]! << 8) | bytes[p + 7]!;
  const more = (fragField & 0x2000) !== 0;
  const fragOffset = (fragField & 0x1fff) * 8;
  if (more || fragOffset !== 0) {
    out.fragId = (bytes[p + 4]! << 8) | bytes[p + 5]!;
    out.fragOffset = fragOffset;
    out.fragMore = more;
    out.fragDataOff = p + ihl;
    out.fragDataLen = ipEnd - (p + ihl);
    out.fragProto = proto;
    return FrameKind.Fragment;
  }
  if (proto !== IPPROTO_TCP) return FrameKind.Other;
  return decodeTcp(bytes, p + ihl, ipEnd, out);
}

/** Decode an IPv6 packet starting at p, walking the extension-header chain. */
export function decodeIpv6(bytes: Uint8Array, p: number, end: number, out: DecodedFrame): FrameKind {
  if (p + 40 > end) return FrameKind.Malformed;
  if (bytes[p]! >> 4 !== 6) return FrameKind.Malformed;
  const payloadLen = (bytes[p + 4]! << 8) | bytes[p + 5]!;
  const ipEnd = payloadLen === 0 ? end : Math.min(end, p + 40 + payloadLen); // 0: jumbogram, trust capture
  out.ipVersion = 6;
  out.ipOff = p;
  out.srcOff = p + 8;
  out.dstOff = p + 24;
  out.src4 = 0;
  out.dst4 = 0;
  let next = bytes[p + 6]!;
  let q = p + 40;
  // Extension headers: hop-by-hop 0, routing 43, fragment 44, destination options 60, AH 51, mobility 135.
  for (let hops = 0; hops < 16; hops++) {
    if (next === IPPROTO_TCP) return decodeTcp(bytes, q, ipEnd, out);
    if (next === 0 || next === 43 || next === 60 || next === 135) {
      if (q + 8 > ipEnd) return FrameKind.Malformed;
      next = bytes[q]!;
      q += (bytes[q + 1]! + 1) * 8;
      continue;
    }
    if (next === 51) {
      if (q + 8 > ipEnd) return FrameKind.Malformed;
      next = bytes[q]!;
      q += (bytes[q + 1]! + 2) * 4;
      continue;
    }
    if (next === 44) {
      if (q + 8 > ipEnd) return FrameKind.Malformed;
      const fo = (bytes[q + 2]! << 8) | bytes[q + 3]!;
      const offset = fo & 0xfff8;
      const more = (fo & 1) !== 0;
      const id = ((bytes[q + 4]! << 24) | (bytes[q + 5]! << 16) | (bytes[q + 6]! << 8) | bytes[q + 7]!) >>> 0;
      const proto = bytes[q]!;
      if (!more && offset === 0) {
        // An atomic fragment: nothing to reassemble.
        next = proto;
        q += 8;
        continue;
      }
      out.fragId = id;
      out.fragOffset = offset;
      out.fragMore = more;
      out.fragDataOff = q + 8;
      out.fragDataLen = ipEnd - (q + 8);
      out.fragProto = proto;
      return FrameKind.Fragment;
    }
    return FrameKind.Other;
  }
  return FrameKind.Malformed;
}

/** Decode the TCP header at p; the payload runs to `end`. */
export function decodeTcp(bytes: Uint8Array, p: number, end: number, out: DecodedFrame): FrameKind {
  if (p + 20 > end) return FrameKind.Malformed;
  const doff = (bytes[p + 12]! >> 4) * 4;
  if (doff < 20 || p + doff > end) return FrameKind.Malformed;
  out.sport = (bytes[p]! << 8) | bytes[p + 1]!;
  out.dport = (bytes[p + 2]! << 8) | bytes[p + 3]!;
  out.seq = ((bytes[p + 4]! << 24) | (bytes[p + 5]! << 16) | (bytes[p + 6]! << 8) | bytes[p + 7]!) >>> 0;
  out.ack = ((bytes[p + 8]! << 24) | (bytes[p + 9]! << 16) | (bytes[p + 10]! << 8) | bytes[p + 11]!) >>> 0;
  out.flags = bytes[p + 13]!;
  out.payloadOff = p + doff;
  out.payloadLen = end - (p + doff);
  return FrameKind.Tcp;
}

/** Text form of an address of the decoded frame. */
export function formatAddress(f: DecodedFrame, which: 'src' | 'dst'): string {
  if (f.ipVersion === 4) return formatIpv4(which === 'src' ? f.src4 : f.dst4);
  return formatIpv6(f.bytes, which === 'src' ? f.srcOff : f.dstOff);
}

export function formatIpv4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** RFC 5952 text: lower case, longest run of zero groups (>= 2) compressed. */
export function formatIpv6(b: Uint8Array, off: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
