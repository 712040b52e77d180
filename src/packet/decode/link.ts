/** Link-layer heads: Ethernet (+ VLAN tags), Linux cooked v1/v2, BSD NULL/LOOP, raw IP. */
import { LINKTYPE } from '../linktype.js';
import { AF_INET, ETHERTYPE } from './constants.js';
import { decodeArp } from './arp.js';
import { decodeIPv4, decodeIPv6 } from './ip.js';
import type { PacketView } from './packet-view.js';

const MAX_VLAN_TAGS = 8;

export function decodeLink(v: PacketView): void {
  const b = v.bytes;
  const s = v.start;
  const avail = v.end - s;
  switch (v.linktype) {
    case LINKTYPE.EN10MB: {
      if (avail < 14) {
        v.truncated = true;
        return;
      }
      v.macDstOffset = s;
      v.macSrcOffset = s + 6;
      decodeEtherType(v, (b[s + 12]! << 8) | b[s + 13]!, s + 14);
      return;
    }
    case LINKTYPE.LINUX_SLL: {
      if (avail < 16) {
        v.truncated = true;
        return;
      }
      v.sllPktType = (b[s]! << 8) | b[s + 1]!;
      decodeEtherType(v, (b[s + 14]! << 8) | b[s + 15]!, s + 16);
      return;
    }
    case LINKTYPE.LINUX_SLL2: {
      if (avail < 20) {
        v.truncated = true;
        return;
      }
      v.sllIfindex = ((b[s + 4]! << 24) | (b[s + 5]! << 16) | (b[s + 6]! << 8) | b[s + 7]!) >>> 0;
      v.sllPktType = b[s + 10]!;
      decodeEtherType(v, (b[s]! << 8) | b[s + 1]!, s + 20);
      return;
    }
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      if (avail < 4) {
        v.truncated = true;
        return;
      }
      // NULL stores the family in the capturing host's byte order, LOOP in network order;
      // families are small numbers, so whichever reading is small is the right one.
      const beFamily = ((b[s]! << 24) | (b[s + 1]! << 16) | (b[s + 2]! << 8) | b[s + 3]!) >>> 0;
      const leFamily = ((b[s + 3]! << 24) | (b[s + 2]! << 16) | (b[s + 1]! << 8) | b[s]!) >>> 0;
      const family = v.linktype === LINKTYPE.LOOP || beFamily <= 0xffff ? beFamily : leFamily;
      if (family === AF_INET) decodeIPv4(v, s + 4);
      else if (family === 10 || family === 24 || family === 28 || family === 30) decodeIPv6(v, s + 4);
      else decodeRawIp(v, s + 4);
      return;
    }
    case LINKTYPE.RAW:
      decodeRawIp(v, s);
      return;
    case LINKTYPE.IPV4:
      decodeIPv4(v, s);
      return;
    case LINKTYPE.IPV6:
      decodeIPv6(v, s);
      return;
    default:
      return; // a link type we do not decode: nothing set, not an error
  }
}

/** Raw IP: the version nibble says which. */
function decodeRawIp(v: PacketView, o: number): void {
  if (o >= v.end) {
    v.truncated = true;
    return;
  }
  const version = v.bytes[o]! >> 4;
  if (version === 4) decodeIPv4(v, o);
  else if (version === 6) decodeIPv6(v, o);
  else v.malformed = true;
}

/** Follow VLAN tags to the inner EtherType, then decode the network layer. */
function decodeEtherType(v: PacketView, type: number, o: number): void {
  const b = v.bytes;
  while (type === ETHERTYPE.VLAN || type === ETHERTYPE.QINQ || type === ETHERTYPE.QINQ_OLD) {
    if (v.end - o < 4) {
      v.truncated = true;
      v.etherType = type;
      return;
    }
    const vid = ((b[o]! << 8) | b[o + 1]!) & 0x0fff;
    if (v.vlanCount === 0) v.vlanOuter = vid;
    else if (v.vlanCount === 1) v.vlanInner = vid;
    v.vlanCount++;
    type = (b[o + 2]! << 8) | b[o + 3]!;
    o += 4;
    if (v.vlanCount >= MAX_VLAN_TAGS) break;
  }
  v.etherType = type;
  if (type === ETHERTYPE.IPV4) decodeIPv4(v, o);
  else if (type === ETHERTYPE.IPV6) decodeIPv6(v, o);
  else if (type === ETHERTYPE.ARP) decodeArp(v, o);
}
