/**
 * Link-layer heads, by the capture's link type: Ethernet, Linux cooked v1/v2, BSD NULL/LOOP, raw IP,
 * PPP, Cisco HDLC, NFLOG, 802.11 (with or without radiotap), SLIP, Frame Relay and multilink Frame Relay
 * (frame-relay.ts), IP over InfiniBand, Solaris ipnet, Juniper Ethernet and switch-tagged Ethernet
 * (vendor-link.ts). Each finds where the network layer starts
 * and hands over to the EtherType / PPP / IP decoders. A link type with no decoder is recorded
 * (`undecoded = 'linktype'`) so that a caller can say so instead of reporting nothing.
 */
import { LINKTYPE } from '../linktype.js';
import { AF_INET } from './constants.js';
import { decodeEtherType, decodeEthernet, decodePpp } from './ethertype.js';
import { decodeFrameRelay, decodeMfr } from './frame-relay.js';
import { decodeIPv4, decodeIPv6 } from './ip.js';
import { LAYER } from './layers.js';
import { decodeJuniperEther, decodeSwitchTagged } from './vendor-link.js';
import { decodeRadiotap, decodeWlan } from './wlan.js';
import type { PacketView } from './packet-view.js';

/** Solaris's AF_INET6, as ipnet headers carry it. */
const IPNET_AF_INET6 = 26;

/** NFLOG's TLV carrying the packet (NFULA_PAYLOAD). */
const NFULA_PAYLOAD = 9;

export function decodeLink(v: PacketView): void {
  const b = v.bytes;
  const s = v.start;
  const avail = v.end - s;
  switch (v.linktype) {
    case LINKTYPE.EN10MB:
      decodeEthernet(v, s);
      return;
    case LINKTYPE.LINUX_SLL: {
      v.pushLayer(LAYER.SLL, s);
      if (avail < 16) {
        v.truncated = true;
        return;
      }
      v.sllPktType = (b[s]! << 8) | b[s + 1]!;
      decodeEtherType(v, (b[s + 14]! << 8) | b[s + 15]!, s + 16);
      return;
    }
    case LINKTYPE.LINUX_SLL2: {
      v.pushLayer(LAYER.SLL2, s);
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
      v.pushLayer(LAYER.NULL, s);
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
    case LINKTYPE.RAW_12:
      decodeRawIp(v, s);
      return;
    case LINKTYPE.IPV4:
      decodeIPv4(v, s);
      return;
    case LINKTYPE.IPV6:
      decodeIPv6(v, s);
      return;
    case LINKTYPE.PPP:
    case LINKTYPE.PPP_SERIAL:
      decodePpp(v, s, true);
      return;
    case LINKTYPE.C_HDLC: {
      // address, control, then an EtherType
      v.pushLayer(LAYER.C_HDLC, s);
      if (avail < 4) {
        v.truncated = true;
        return;
      }
      decodeEtherType(v, (b[s + 2]! << 8) | b[s + 3]!, s + 4);
      return;
    }
    case LINKTYPE.NFLOG:
      decodeNflog(v, s);
      return;
    case LINKTYPE.IEEE802_11:
      decodeWlan(v, s);
      return;
    case LINKTYPE.IEEE802_11_RADIO:
      decodeRadiotap(v, s);
      return;
    case LINKTYPE.SLIP:
      // direction, then the CSLIP header as it was on the line (14 bytes of it); the packet follows whole
      v.pushLayer(LAYER.SLIP, s);
      if (avail < 16) {
        v.truncated = true;
        return;
      }
      decodeRawIp(v, s + 16);
      return;
    case LINKTYPE.FRELAY:
      decodeFrameRelay(v, s);
      return;
    case LINKTYPE.MFR:
      decodeMfr(v, s);
      return;
    case LINKTYPE.IPOIB:
      // a 40-byte pseudo-header (addresses: the GRH's, then the destination QPN and GID), then RFC 4391's
      // 4 bytes: EtherType and a reserved 16 bits
      v.pushLayer(LAYER.IPOIB, s);
      if (avail < 44) {
        v.truncated = true;
        return;
      }
      decodeEtherType(v, (b[s + 40]! << 8) | b[s + 41]!, s + 44);
      return;
    case LINKTYPE.IPNET: {
      // version, address family (Solaris: 2 IPv4, 26 IPv6), hook, length, interface and zone ids
      v.pushLayer(LAYER.IPNET, s);
      if (avail < 24) {
        v.truncated = true;
        return;
      }
      const family = b[s + 1]!;
      if (family === AF_INET) decodeIPv4(v, s + 24);
      else if (family === IPNET_AF_INET6) decodeIPv6(v, s + 24);
      else decodeRawIp(v, s + 24);
      return;
    }
    case LINKTYPE.JUNIPER_ETHER:
      decodeJuniperEther(v, s);
      return;
    case LINKTYPE.DSA_TAG_BRCM:
    case LINKTYPE.DSA_TAG_BRCM_PREPEND:
    case LINKTYPE.DSA_TAG_DSA:
    case LINKTYPE.DSA_TAG_EDSA:
      decodeSwitchTagged(v, s);
      return;
    default:
      v.stopAt('linktype', v.linktype);
  }
}

/** Raw IP: the version nibble says which. */
export function decodeRawIp(v: PacketView, o: number): void {
  if (o >= v.end) {
    v.truncated = true;
    return;
  }
  const version = v.bytes[o]! >> 4;
  if (version === 4) decodeIPv4(v, o);
  else if (version === 6) decodeIPv6(v, o);
  else v.malformed = true;
}

/**
 * NFLOG (Linux netfilter's log): family, version, resource id, then TLVs of 4-byte-aligned length. The
 * TLVs' length and type are in the logging host's byte order, which the file does not record: the
 * reading whose length fits is the right one (a TLV is at least 4 bytes and at most what is left).
 */
function decodeNflog(v: PacketView, s: number): void {
  const b = v.bytes;
  const end = v.end;
  v.pushLayer(LAYER.NFLOG, s);
  if (end - s < 4) {
    v.truncated = true;
    return;
  }
  let o = s + 4;
  let littleEndian: boolean | undefined;
  while (end - o >= 4) {
    const le = b[o]! | (b[o + 1]! << 8);
    const be = (b[o]! << 8) | b[o + 1]!;
    if (littleEndian === undefined) {
      const leFits = le >= 4 && le <= end - o;
      const beFits = be >= 4 && be <= end - o;
      littleEndian = leFits || !beFits;
    }
    const len = littleEndian ? le : be;
    const type = (littleEndian ? b[o + 2]! | (b[o + 3]! << 8) : (b[o + 2]! << 8) | b[o + 3]!) & 0x7fff;
    if (len < 4) {
      v.malformed = true;
      return;
    }
    if (type === NFULA_PAYLOAD) {
      const payloadEnd = Math.min(end, o + len);
      v.end = payloadEnd;
      decodeRawIp(v, o + 4);
      return;
    }
    o += (len + 3) & ~3;
  }
  // No packet in this record (or it was cut off): nothing more to decode.
  if (o < end) v.truncated = true;
}
