/**
 * What follows an EtherType: VLAN tags (802.1Q, 802.1ad and the pre-standard 0x9100/0x9200, any number
 * of them), 802.1ah provider backbone (a customer frame inside), MPLS label stacks, PPPoE sessions and
 * PPP, LLC/SNAP, MACsec without encryption, NSH, Arista's timestamp header, then IPv4, IPv6 or ARP. Every
 * nested packet goes through `enterInner`, which bounds the nesting depth. EtherTypes known to carry no IP
 * (LLDP, RARP, ...) end the walk as what they are; any other unknown one is recorded as `undecoded`.
 */
import { ETHERTYPE, OUI_CISCO, PPP_PROTO, isCiscoNonIpPid, isNonIpEtherType, isPppControl } from './constants.js';
import { decodeArp } from './arp.js';
import { decodeIPv4, decodeIPv6 } from './ip.js';
import { LAYER } from './layers.js';
import { decodeRawIp } from './link.js';
import { MplsPayload, mplsPayloadKind } from './pseudowire.js';
import type { PacketView } from './packet-view.js';

/** An Ethernet II / 802.3 frame starting at `o` (also inside tunnels: VXLAN, GRE TEB, 802.1ah, ...). */
export function decodeEthernet(v: PacketView, o: number): void {
  const b = v.bytes;
  v.pushLayer(LAYER.ETHERNET, o);
  if (v.end - o < 14) {
    v.truncated = true;
    return;
  }
  v.macDstOffset = o;
  v.macSrcOffset = o + 6;
  decodeEtherType(v, (b[o + 12]! << 8) | b[o + 13]!, o + 14);
}

/** Follow `type` at `o` (the byte after the EtherType field) to the network layer. */
export function decodeEtherType(v: PacketView, type: number, o: number): void {
  const b = v.bytes;
  const end = v.end;
  // Tags: a loop bounded by the packet's length (4 bytes each), so any number of them is fine.
  while (
    type === ETHERTYPE.VLAN ||
    type === ETHERTYPE.QINQ ||
    type === ETHERTYPE.QINQ_OLD ||
    type === ETHERTYPE.QINQ_OLD2
  ) {
    v.pushLayer(LAYER.VLAN, o);
    if (end - o < 4) {
      v.truncated = true;
      v.etherType = type;
      return;
    }
    const vid = ((b[o]! << 8) | b[o + 1]!) & 0x0fff;
    if (v.vlanCount === 0) v.vlanOuter = vid;
    else v.vlanInner = vid;
    v.vlanCount++;
    type = (b[o + 2]! << 8) | b[o + 3]!;
    o += 4;
  }
  v.etherType = type;
  switch (type) {
    case ETHERTYPE.IPV4:
      decodeIPv4(v, o);
      return;
    case ETHERTYPE.IPV6:
      decodeIPv6(v, o);
      return;
    case ETHERTYPE.ARP:
      decodeArp(v, o);
      return;
    case ETHERTYPE.MPLS:
    case ETHERTYPE.MPLS_MULTICAST:
      decodeMpls(v, o);
      return;
    case ETHERTYPE.PPPOE_SESSION: {
      // version/type, code, session id, length; then PPP's protocol field
      v.pushLayer(LAYER.PPPOE, o);
      if (end - o < 6) {
        v.truncated = true;
        return;
      }
      v.pppoeSession = (b[o + 2]! << 8) | b[o + 3]!;
      const len = (b[o + 4]! << 8) | b[o + 5]!;
      if (o + 6 + len < end) v.end = o + 6 + len; // Ethernet padding after a short session frame
      decodePpp(v, o + 6, false);
      return;
    }
    case ETHERTYPE.PBB: {
      // I-tag (flags and 24-bit service id), then the customer's whole Ethernet frame
      v.pushLayer(LAYER.PBB, o);
      if (end - o < 4) {
        v.truncated = true;
        return;
      }
      v.tunnelId = ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
      if (v.enterInner()) decodeEthernet(v, o + 4);
      return;
    }
    case ETHERTYPE.TEB:
      if (v.enterInner()) decodeEthernet(v, o);
      return;
    case ETHERTYPE.MACSEC:
      decodeMacsec(v, o);
      return;
    case ETHERTYPE.NSH:
      decodeNsh(v, o);
      return;
    case ETHERTYPE.ARISTA:
      decodeArista(v, o);
      return;
    default:
      if (type < 0x600) {
        decodeLlc(v, o);
        return;
      }
      if (type !== ETHERTYPE.PPPOE_DISCOVERY && !isNonIpEtherType(type)) v.stopAt('ethertype', type);
  }
}

/**
 * 802.1AE MACsec: the SecTAG (TCI/AN, short length, packet number, and the 8-byte SCI when the SC bit
 * says so), then the protected frame's own EtherType — readable only when neither E (encrypted) nor C
 * (changed text) is set. A short length (1-47) bounds the secure data; the ICV after it is not data.
 */
function decodeMacsec(v: PacketView, o: number): void {
  const b = v.bytes;
  v.pushLayer(LAYER.MACSEC, o);
  if (v.end - o < 6) {
    v.truncated = true;
    return;
  }
  const tci = b[o]!;
  if (tci & 0x80) {
    v.malformed = true; // version bit: only version 0 exists
    return;
  }
  if (tci & 0x0c) {
    v.stopAt('ethertype', ETHERTYPE.MACSEC); // undecodedName words it "MACsec encrypted"
    return;
  }
  const data = o + (tci & 0x20 ? 14 : 6);
  if (v.end - data < 2) {
    v.truncated = true;
    return;
  }
  const shortLength = b[o + 1]! & 0x3f;
  if (shortLength !== 0 && data + shortLength < v.end) v.end = data + shortLength;
  if (v.enterInner()) decodeEtherType(v, (b[data]! << 8) | b[data + 1]!, data + 2);
}

/**
 * Arista's vendor-specific protocol: subtype (1: a timestamp), a version word whose format nibble (bits
 * 4-7) says how long the timestamp is (1: 64 bits, 2: 48 bits), the timestamp, then the frame's own
 * EtherType. Any other subtype or format is not understood: undecoded.
 */
function decodeArista(v: PacketView, o: number): void {
  const b = v.bytes;
  v.pushLayer(LAYER.ARISTA, o);
  if (v.end - o < 4) {
    v.truncated = true;
    return;
  }
  const subtype = (b[o]! << 8) | b[o + 1]!;
  const format = (b[o + 3]! >> 4) & 0x0f;
  if (subtype !== 1 || (format !== 1 && format !== 2)) {
    v.stopAt('ethertype', ETHERTYPE.ARISTA);
    return;
  }
  const t = o + 4 + (format === 1 ? 8 : 6);
  if (v.end - t < 2) {
    v.truncated = true;
    return;
  }
  if (v.enterInner()) decodeEtherType(v, (b[t]! << 8) | b[t + 1]!, t + 2);
}

/**
 * NSH (RFC 8300): base header (version, flags, TTL, length in 4-byte words, MD type, next protocol),
 * service path header and context headers, `length` words in all; then IPv4 (1), IPv6 (2), Ethernet (3),
 * NSH (4) or MPLS (5).
 */
function decodeNsh(v: PacketView, o: number): void {
  const b = v.bytes;
  v.pushLayer(LAYER.NSH, o);
  if (v.end - o < 8) {
    v.truncated = true;
    return;
  }
  const words = b[o + 1]! & 0x3f;
  if (b[o]! >> 6 !== 0 || words < 2) {
    v.malformed = true; // version 0 only; the base and service path headers alone are 2 words
    return;
  }
  const inner = o + 4 * words;
  if (inner > v.end) {
    v.truncated = true;
    return;
  }
  const next = b[o + 3]!;
  if (next < 1 || next > 5) {
    v.stopAt('ethertype', ETHERTYPE.NSH);
    return;
  }
  if (!v.enterInner()) return;
  if (next === 1) decodeIPv4(v, inner);
  else if (next === 2) decodeIPv6(v, inner);
  else if (next === 3) decodeEthernet(v, inner);
  else if (next === 4) decodeNsh(v, inner);
  else decodeMpls(v, inner);
}

/**
 * 802.3 with an LLC header: only SNAP (AA AA 03, then an OUI and a protocol id) leads anywhere bpfkit
 * decodes (spanning tree ends here, decoded as what it is: not IP).
 */
function decodeLlc(v: PacketView, o: number): void {
  const b = v.bytes;
  if (v.end - o < 8 || b[o] !== 0xaa || b[o + 1] !== 0xaa || b[o + 2] !== 0x03) return;
  v.pushLayer(LAYER.LLC_SNAP, o);
  decodeSnap(v, o + 3);
}

/**
 * A SNAP header's OUI and protocol id at `o`, then what the id names: an EtherType, except under Cisco's
 * OUI, whose ids CDP, VTP, DTP, ... carry no IP (decoded as such); Cisco ids bpfkit does not know, like
 * unknown EtherTypes, stay `undecoded`.
 */
export function decodeSnap(v: PacketView, o: number): void {
  const b = v.bytes;
  const oui = (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
  const pid = (b[o + 3]! << 8) | b[o + 4]!;
  if (oui === OUI_CISCO && isCiscoNonIpPid(pid)) return;
  // (a SNAP header naming another length would send us back here: it names nothing)
  if (pid >= 0x600) decodeEtherType(v, pid, o + 5);
}

/**
 * An MPLS label stack, then what its bottom carries: nothing says what, so the first bytes decide
 * (pseudowire.ts): IPv4, IPv6, or an Ethernet pseudowire with or without its control word.
 */
export function decodeMpls(v: PacketView, o: number): void {
  const b = v.bytes;
  const end = v.end;
  for (;;) {
    v.pushLayer(LAYER.MPLS, o);
    if (end - o < 4) {
      v.truncated = true;
      return;
    }
    v.mplsLabel = ((b[o]! << 12) | (b[o + 1]! << 4) | (b[o + 2]! >> 4)) >>> 0;
    v.mplsCount++;
    const bottom = (b[o + 2]! & 1) !== 0;
    o += 4;
    if (bottom) break;
  }
  if (o >= end) {
    v.truncated = true;
    return;
  }
  if (!v.enterInner()) return;
  const kind = mplsPayloadKind(b, o, end);
  if (kind === MplsPayload.IP) decodeRawIp(v, o);
  else if (kind === MplsPayload.EthernetCw) decodeEthernet(v, o + 4);
  else if (kind === MplsPayload.Ethernet) decodeEthernet(v, o);
  else v.malformed = true;
}

/**
 * PPP from its address/control bytes (when `hdlc` and present: FF 03) or its protocol field, which is
 * one byte when that byte is odd (protocol-field compression) and two otherwise.
 */
export function decodePpp(v: PacketView, o: number, hdlc: boolean): void {
  const b = v.bytes;
  const end = v.end;
  v.pushLayer(LAYER.PPP, o);
  if (hdlc && end - o >= 2 && b[o] === 0xff && b[o + 1] === 0x03) o += 2;
  if (o >= end) {
    v.truncated = true;
    return;
  }
  let proto: number;
  if (b[o]! & 1) {
    proto = b[o]!;
    o += 1;
  } else {
    if (end - o < 2) {
      v.truncated = true;
      return;
    }
    proto = (b[o]! << 8) | b[o + 1]!;
    o += 2;
  }
  if (proto === PPP_PROTO.IPV4) decodeIPv4(v, o);
  else if (proto === PPP_PROTO.IPV6) decodeIPv6(v, o);
  else if (proto === PPP_PROTO.MPLS) decodeMpls(v, o);
  else if (!isPppControl(proto)) v.stopAt('ppp', proto);
}
