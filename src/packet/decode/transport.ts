/** TCP, UDP, ICMP/ICMPv6 headers; any other protocol just gets its payload offset. */
import { IPPROTO } from './constants.js';
import type { PacketView } from './packet-view.js';

export function decodeTransport(v: PacketView, proto: number, o: number, ipEnd: number): void {
  const b = v.bytes;
  const avail = ipEnd - o;
  v.proto = proto;
  if (proto === IPPROTO.NONE) {
    v.payloadOffset = o;
    v.payloadLength = 0;
    return;
  }
  v.l4Offset = o;
  switch (proto) {
    case IPPROTO.TCP: {
      if (avail < 20) {
        truncatedPorts(v, o, avail);
        return;
      }
      v.srcPort = (b[o]! << 8) | b[o + 1]!;
      v.dstPort = (b[o + 2]! << 8) | b[o + 3]!;
      v.tcpSeq = ((b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) >>> 0;
      v.tcpAck = ((b[o + 8]! << 24) | (b[o + 9]! << 16) | (b[o + 10]! << 8) | b[o + 11]!) >>> 0;
      const hlen = (b[o + 12]! >> 4) << 2;
      v.tcpFlags = b[o + 13]!;
      v.tcpWindow = (b[o + 14]! << 8) | b[o + 15]!;
      v.tcpHeaderLength = hlen;
      if (hlen < 20) {
        v.malformed = true;
        return;
      }
      if (avail < hlen) {
        v.truncated = true;
        return;
      }
      v.payloadOffset = o + hlen;
      v.payloadLength = avail - hlen;
      return;
    }
    case IPPROTO.UDP: {
      if (avail < 8) {
        truncatedPorts(v, o, avail);
        return;
      }
      v.srcPort = (b[o]! << 8) | b[o + 1]!;
      v.dstPort = (b[o + 2]! << 8) | b[o + 3]!;
      const ulen = (b[o + 4]! << 8) | b[o + 5]!;
      v.udpLength = ulen;
      v.payloadOffset = o + 8;
      // The UDP length bounds the payload when it is sane (a fragmented datagram's is larger than this packet).
      v.payloadLength = ulen >= 8 && ulen - 8 < avail - 8 ? ulen - 8 : avail - 8;
      if (ulen !== 0 && ulen < 8) v.malformed = true;
      return;
    }
    case IPPROTO.ICMP:
    case IPPROTO.ICMPV6: {
      if (avail < 2) {
        v.truncated = true;
        return;
      }
      v.icmpType = b[o]!;
      v.icmpCode = b[o + 1]!;
      if (avail < 8) {
        v.truncated = true;
        return;
      }
      v.payloadOffset = o + 8;
      v.payloadLength = avail - 8;
      return;
    }
    default:
      v.payloadOffset = o;
      v.payloadLength = avail;
  }
}

/** A TCP/UDP header cut short: keep the ports when they made it into the capture. */
function truncatedPorts(v: PacketView, o: number, avail: number): void {
  const b = v.bytes;
  if (avail >= 4) {
    v.srcPort = (b[o]! << 8) | b[o + 1]!;
    v.dstPort = (b[o + 2]! << 8) | b[o + 3]!;
  }
  v.truncated = true;
}
