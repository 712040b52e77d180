/**
 * IPv4 (options, fragments) and IPv6 (the extension header chain up to the upper-layer protocol).
 * `ipEnd` — where the IP datagram ends according to its own length field, clipped to the capture — is
 * what the transport decoders see, so Ethernet padding never counts as payload.
 */
import { IPPROTO } from './constants.js';
import type { PacketView } from './packet-view.js';
import { LAYER } from './layers.js';
import { decodeIpPayload } from './tunnel.js';

/** Enough for any sane chain; a loop of garbage headers stops here. */
const MAX_IPV6_EXT = 16;

export function decodeIPv4(v: PacketView, o: number): void {
  const b = v.bytes;
  const end = v.end;
  v.l3Offset = o;
  if (v.outerL3Offset < 0) v.outerL3Offset = o;
  v.pushLayer(LAYER.IPV4, o);
  if (o >= end) {
    v.truncated = true;
    return;
  }
  const vihl = b[o]!;
  if (vihl >> 4 !== 4) {
    v.malformed = true;
    return;
  }
  v.ipVersion = 4;
  if (end - o < 20) {
    v.truncated = true;
    return;
  }
  const ihl = (vihl & 15) << 2;
  if (ihl < 20) {
    v.malformed = true;
    return;
  }
  const total = (b[o + 2]! << 8) | b[o + 3]!;
  const fragWord = (b[o + 6]! << 8) | b[o + 7]!;
  v.ipHeaderLength = ihl;
  v.ipOptionsLength = ihl - 20;
  v.ipTotalLength = total;
  v.ipId = (b[o + 4]! << 8) | b[o + 5]!;
  v.dontFragment = (fragWord & 0x4000) !== 0;
  v.moreFragments = (fragWord & 0x2000) !== 0;
  v.fragmentOffset = (fragWord & 0x1fff) << 3;
  v.isFragment = v.moreFragments || v.fragmentOffset !== 0;
  v.ttl = b[o + 8]!;
  v.proto = b[o + 9]!;
  v.srcAddrOffset = o + 12;
  v.dstAddrOffset = o + 16;
  v.addrLength = 4;
  v.srcIPv4 = ((b[o + 12]! << 24) | (b[o + 13]! << 16) | (b[o + 14]! << 8) | b[o + 15]!) >>> 0;
  v.dstIPv4 = ((b[o + 16]! << 24) | (b[o + 17]! << 16) | (b[o + 18]! << 8) | b[o + 19]!) >>> 0;
  if (end - o < ihl) {
    v.truncated = true;
    return;
  }
  // Total length 0 is what segmentation offload leaves in outgoing super-packets: trust the capture.
  if (total !== 0 && total < ihl) {
    v.malformed = true;
    return;
  }
  const ipEnd = total === 0 || o + total > end ? end : o + total;
  v.payloadCut = total !== 0 && o + total > end ? o + total - end : 0;
  if (v.isFragment) {
    v.fragmentDataOffset = o + ihl;
    v.fragmentDataLength = ipEnd - (o + ihl);
    v.fragmentProto = v.proto;
  }
  if (v.fragmentOffset !== 0) {
    // A later fragment: bytes of the middle of a datagram, no transport header here.
    v.payloadOffset = o + ihl;
    v.payloadLength = ipEnd - (o + ihl);
    return;
  }
  decodeIpPayload(v, v.proto, o + ihl, ipEnd);
}

export function decodeIPv6(v: PacketView, o: number): void {
  const b = v.bytes;
  const end = v.end;
  v.l3Offset = o;
  if (v.outerL3Offset < 0) v.outerL3Offset = o;
  v.pushLayer(LAYER.IPV6, o);
  if (o >= end) {
    v.truncated = true;
    return;
  }
  if (b[o]! >> 4 !== 6) {
    v.malformed = true;
    return;
  }
  v.ipVersion = 6;
  if (end - o < 40) {
    v.truncated = true;
    return;
  }
  const payloadLen = (b[o + 4]! << 8) | b[o + 5]!;
  v.ipTotalLength = 40 + payloadLen;
  v.ttl = b[o + 7]!;
  v.srcAddrOffset = o + 8;
  v.dstAddrOffset = o + 24;
  v.addrLength = 16;
  // Payload length 0 means a jumbogram (or offload): the capture decides.
  const ipEnd = payloadLen === 0 || o + 40 + payloadLen > end ? end : o + 40 + payloadLen;
  v.payloadCut = payloadLen !== 0 && o + 40 + payloadLen > end ? o + 40 + payloadLen - end : 0;
  let next = b[o + 6]!;
  let p = o + 40;
  for (let i = 0; i < MAX_IPV6_EXT; i++) {
    let len: number;
    if (next === IPPROTO.HOPOPTS || next === IPPROTO.ROUTING || next === IPPROTO.DSTOPTS) {
      if (ipEnd - p < 2) break;
      len = (b[p + 1]! + 1) << 3;
    } else if (next === IPPROTO.AH) {
      if (ipEnd - p < 2) break;
      len = (b[p + 1]! + 2) << 2;
    } else if (next === IPPROTO.FRAGMENT) {
      len = 8;
      if (ipEnd - p >= 8) {
        const w = (b[p + 2]! << 8) | b[p + 3]!;
        v.fragmentOffset = w & 0xfff8;
        v.moreFragments = (w & 1) !== 0;
        v.isFragment = v.moreFragments || v.fragmentOffset !== 0;
        v.ipId = ((b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!) >>> 0;
        if (v.isFragment) {
          // The fragmentable part starts after this header; a later fragment's bytes are all data (no
          // further headers to walk), so the chain stops there.
          v.fragmentDataOffset = p + 8;
          v.fragmentDataLength = ipEnd - (p + 8);
          v.fragmentProto = b[p]!;
          if (v.fragmentOffset !== 0) {
            v.ipv6ExtCount++;
            v.ipHeaderLength = p + 8 - o;
            v.proto = b[p]!;
            v.payloadOffset = p + 8;
            v.payloadLength = ipEnd - (p + 8);
            return;
          }
        }
      }
    } else {
      break; // an upper-layer protocol (or ESP / no next header): the chain ends
    }
    if (ipEnd - p < len) {
      v.truncated = true;
      v.ipHeaderLength = p - o;
      v.proto = next;
      return;
    }
    next = b[p]!;
    p += len;
    v.ipv6ExtCount++;
  }
  v.ipHeaderLength = p - o;
  v.proto = next;
  if (next === IPPROTO.HOPOPTS || next === IPPROTO.ROUTING || next === IPPROTO.DSTOPTS || next === IPPROTO.AH) {
    // stopped inside the chain: either out of bytes or too many headers
    if (ipEnd - p < 2) v.truncated = true;
    else v.malformed = true;
    return;
  }
  if (v.fragmentOffset !== 0) {
    v.payloadOffset = p;
    v.payloadLength = ipEnd - p;
    return;
  }
  decodeIpPayload(v, next, p, ipEnd);
}
