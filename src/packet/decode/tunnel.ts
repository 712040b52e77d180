/**
 * Tunnels: what an IP packet carries when it carries another packet. IP-in-IP (4) and IPv6-in-IPv4 (41),
 * GRE (checksum/key/sequence fields, PPTP's enhanced GRE, transparent Ethernet bridging, ERSPAN types
 * I-III, WCCP, Aruba's 802.11-in-GRE, MPLS), L2TPv3 (115), and over UDP: VXLAN, Geneve, GTP-U, Teredo, AYIYA,
 * L2TPv2 and L2TPv3.
 *
 * A UDP datagram on a tunnel's port is a tunnel only when its header checks out; otherwise it stays an
 * ordinary datagram. Each inner packet goes through `enterInner` (depth bound) and is bounded by its
 * carrier's length, so a tunnel header can never make the decoder read past what its carrier holds.
 */
import { ETHERTYPE, IPPROTO, TUNNEL_PORT } from './constants.js';
import { decodeEtherType, decodeEthernet, decodeMpls, decodePpp } from './ethertype.js';
import { decodeIPv4, decodeIPv6 } from './ip.js';
import { LAYER } from './layers.js';
import { decodeRawIp } from './link.js';
import type { PacketView } from './packet-view.js';
import { decodeTransport } from './transport.js';
import { decodeWlan } from './wlan.js';

/** The payload of an IP header (protocol `proto`, bytes [o, ipEnd)): a tunnel or a transport header. */
export function decodeIpPayload(v: PacketView, proto: number, o: number, ipEnd: number): void {
  switch (proto) {
    case IPPROTO.IPIP:
      if (enter(v, ipEnd)) decodeIPv4(v, o);
      return;
    case IPPROTO.IPV6:
      if (enter(v, ipEnd)) decodeIPv6(v, o);
      return;
    case IPPROTO.GRE:
      decodeGre(v, o, ipEnd);
      return;
    case IPPROTO.UDP:
      decodeTransport(v, proto, o, ipEnd);
      if (v.payloadOffset >= 0 && !v.truncated) decodeUdpTunnel(v);
      return;
    case IPPROTO.L2TP:
      // (a message that is no data message, or holds no frame, stays protocol 115 with its payload)
      decodeTransport(v, proto, o, ipEnd);
      l2tpv3(v, o, ipEnd, o, false);
      return;
    default:
      decodeTransport(v, proto, o, ipEnd);
  }
}

/** Start an inner packet that ends at `end` (its carrier's end). */
function enter(v: PacketView, end: number): boolean {
  if (!v.enterInner()) return false;
  if (end < v.end) v.end = end;
  return true;
}

function decodeGre(v: PacketView, o: number, ipEnd: number): void {
  const b = v.bytes;
  v.proto = IPPROTO.GRE;
  v.l4Offset = o;
  v.pushLayer(LAYER.GRE, o);
  if (ipEnd - o < 4) {
    v.truncated = true;
    return;
  }
  const flags = (b[o]! << 8) | b[o + 1]!;
  const version = flags & 7;
  const proto = (b[o + 2]! << 8) | b[o + 3]!;
  let p = o + 4;
  if (version === 0) {
    if (flags & 0xc000) p += 4; // checksum (and the routing offset beside it)
    if (flags & 0x2000) {
      if (ipEnd - p >= 4) v.tunnelId = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
      p += 4;
    }
    if (flags & 0x1000) p += 4; // sequence number
    if (flags & 0x4000) {
      // RFC 1701 source routing: entries (family, offset, length, data) up to a null one
      for (;;) {
        if (ipEnd - p < 4) {
          v.truncated = true;
          return;
        }
        const len = b[p + 3]!;
        const family = (b[p]! << 8) | b[p + 1]!;
        p += 4 + len;
        if (family === 0 && len === 0) break;
      }
    }
  } else if (version === 1) {
    // PPTP's enhanced GRE: payload length and call id always, then sequence and acknowledgement numbers
    if (ipEnd - p >= 4) v.tunnelId = (b[p + 2]! << 8) | b[p + 3]!;
    p += 4;
    if (flags & 0x1000) p += 4;
    if (flags & 0x0080) p += 4;
  } else {
    v.malformed = true;
    return;
  }
  v.payloadOffset = p < ipEnd ? p : ipEnd;
  v.payloadLength = ipEnd > p ? ipEnd - p : 0;
  if (p >= ipEnd) {
    if (p > ipEnd) v.truncated = true;
    return; // a keepalive, or cut short
  }
  switch (proto) {
    case ETHERTYPE.IPV4:
      if (enter(v, ipEnd)) decodeIPv4(v, p);
      return;
    case ETHERTYPE.IPV6:
      if (enter(v, ipEnd)) decodeIPv6(v, p);
      return;
    case ETHERTYPE.TEB:
      if (enter(v, ipEnd)) decodeEthernet(v, p);
      return;
    case ETHERTYPE.MPLS:
    case ETHERTYPE.MPLS_MULTICAST:
      if (enter(v, ipEnd)) decodeMpls(v, p);
      return;
    case ETHERTYPE.PPP:
      if (enter(v, ipEnd)) decodePpp(v, p, true);
      return;
    case ETHERTYPE.WCCP:
      // a 4-byte redirect header, which some senders leave out: an IPv4 header starts with 0x4_
      if (enter(v, ipEnd)) {
        v.pushLayer(LAYER.WCCP, p);
        decodeIPv4(v, b[p]! >> 4 === 4 ? p : p + 4);
      }
      return;
    case ETHERTYPE.ERSPAN_II:
      // type I has no header of its own; type II (sequence number present) an 8-byte one
      if (flags & 0x1000) {
        if (ipEnd - p < 8) {
          v.truncated = true;
          return;
        }
        v.pushLayer(LAYER.ERSPAN, p);
        v.tunnelId = ((b[p + 2]! & 3) << 8) | b[p + 3]!;
        p += 8;
      }
      if (enter(v, ipEnd)) decodeEthernet(v, p);
      return;
    case ETHERTYPE.ERSPAN_III: {
      if (ipEnd - p < 12) {
        v.truncated = true;
        return;
      }
      v.pushLayer(LAYER.ERSPAN, p);
      v.tunnelId = ((b[p + 2]! & 3) << 8) | b[p + 3]!;
      const frameType = (b[p + 10]! >> 2) & 0x1f;
      const platform = (b[p + 11]! & 1) !== 0; // an 8-byte platform-specific subheader follows
      p += platform ? 20 : 12;
      if (!enter(v, ipEnd)) return;
      if (frameType === 2) decodeRawIp(v, p);
      else decodeEthernet(v, p);
      return;
    }
    default:
      if (proto >= 0x8200 && proto <= 0x83ff && (proto & 0xf) === 0) {
        // Aruba's access points tunnel 802.11 frames (no FCS) to their controller this way
        if (enter(v, ipEnd)) {
          v.pushLayer(LAYER.ARUBA, p);
          decodeWlan(v, p);
        }
        return;
      }
      if (proto >= 0x600) {
        // Any other EtherType: the EtherType decoders know it or say which it was.
        if (enter(v, ipEnd)) decodeEtherType(v, proto, p);
        return;
      }
      v.stopAt('gre', proto);
  }
}

/** A decoded UDP datagram: a tunnel when it is on a tunnel's port and its header checks out. */
function decodeUdpTunnel(v: PacketView): void {
  const d = v.dstPort;
  const s = v.srcPort;
  const o = v.payloadOffset;
  const end = o + v.payloadLength;
  if (d === TUNNEL_PORT.VXLAN) vxlan(v, o, end);
  else if (d === TUNNEL_PORT.GENEVE) geneve(v, o, end);
  else if (d === TUNNEL_PORT.GTP_U || s === TUNNEL_PORT.GTP_U) gtpU(v, o, end);
  else if (d === TUNNEL_PORT.TEREDO || s === TUNNEL_PORT.TEREDO) teredo(v, o, end);
  else if (d === TUNNEL_PORT.AYIYA || s === TUNNEL_PORT.AYIYA) ayiya(v, o, end);
  else if (d === TUNNEL_PORT.L2TP || s === TUNNEL_PORT.L2TP) l2tp(v, o, end);
}

/**
 * L2TPv2 (RFC 2661), as ISPs carry their subscribers' PPP sessions (and VPNs their clients'): a data
 * message holds one PPP frame. Control messages (T bit) carry none. Version 3 over UDP: l2tpv3.
 */
function l2tp(v: PacketView, o: number, end: number): void {
  const b = v.bytes;
  if (end - o < 6) return;
  const flags = b[o]!;
  if ((flags & 0x80) === 0 && (b[o + 1]! & 0x0f) === 3) {
    // L2TPv3 over UDP (RFC 3931 4.1.2.1): T bit clear (a data message), version, 2 reserved bytes, then
    // the session header as over IP
    l2tpv3(v, o + 4, end, o, true);
    return;
  }
  // T clear, reserved bits clear, version 2
  if ((flags & 0xb4) !== 0 || (b[o + 1]! & 0x0f) !== 2) return;
  let p = o + 2;
  if (flags & 0x40) {
    // the message's length: the PPP frame ends there (what follows in the datagram is padding)
    const len = (b[p]! << 8) | b[p + 1]!;
    if (len < 6 || o + len > end) return;
    end = o + len;
    p += 2;
  }
  if (end - p < 4) return;
  const tunnelId = (b[p]! << 8) | b[p + 1]!;
  p += 4; // tunnel id, session id
  if (flags & 0x08) p += 4; // Ns, Nr
  if (flags & 0x02) {
    // offset size, then that many bytes of padding
    if (end - p < 2) return;
    p += 2 + ((b[p]! << 8) | b[p + 1]!);
  }
  if (end - p < 2) return;
  v.pushLayer(LAYER.UDP, v.l4Offset);
  v.pushLayer(LAYER.L2TP, o);
  if (!enter(v, end)) return;
  v.tunnelId = tunnelId;
  decodePpp(v, p, true);
}

/**
 * An L2TPv3 data message's session header at `s` (RFC 3931 4.1: session id, cookie, L2-specific sublayer)
 * and the frame after it, up to `end`; `at` is where the L2TP header starts (the layer recorded, after the
 * UDP one when `overUdp`). Returns whether it was one. A session id of 0 is a control message over IP: no frame.
 *
 * The cookie's length (0, 4 or 8) and whether the default 4-byte L2-specific sublayer is there are agreed
 * on the control channel, never said in a data message. With nothing of that channel captured, Wireshark
 * (its default, "Detect") reads no cookie and no sublayer, and leaves the payload undecoded (its pseudowire
 * type is unknown). bpfkit reads it as an Ethernet pseudowire (RFC 4719, what L2TPv3 mostly carries): at
 * Wireshark's offset when an Ethernet header carrying IP, ARP, a VLAN tag or MPLS starts there, else at the
 * first of the other offsets (4, 8, 12: a cookie, a sublayer, or both) where one does; when none does, at
 * Wireshark's, where the Ethernet decoder says what it found (counted, not silent). In a session with a
 * cookie or a sublayer, bytes at a shorter offset that happen to read as such a header (the inner frame's
 * own addresses holding an IP EtherType and the right version nibble) would be misread.
 */
function l2tpv3(v: PacketView, s: number, end: number, at: number, overUdp: boolean): boolean {
  const b = v.bytes;
  if (end - s < 4 + 14) return false;
  const session = ((b[s]! << 24) | (b[s + 1]! << 16) | (b[s + 2]! << 8) | b[s + 3]!) >>> 0;
  if (session === 0) return false;
  const p = s + 4;
  let q = p;
  for (let k = 0; k <= 12; k += 4) {
    if (ethernetCarryingIp(b, p + k, end)) {
      q = p + k;
      break;
    }
  }
  if (overUdp) v.pushLayer(LAYER.UDP, v.l4Offset);
  v.pushLayer(LAYER.L2TP, at);
  if (!enter(v, end)) return true;
  v.tunnelId = session;
  decodeEthernet(v, q);
  return true;
}

/** Whether an Ethernet header that carries IP (its version nibble right), ARP, a VLAN tag or MPLS starts at q. */
function ethernetCarryingIp(b: Uint8Array, q: number, end: number): boolean {
  if (end - q < 15) return false;
  const type = (b[q + 12]! << 8) | b[q + 13]!;
  const nibble = b[q + 14]! >> 4;
  switch (type) {
    case ETHERTYPE.IPV4:
      return nibble === 4;
    case ETHERTYPE.IPV6:
      return nibble === 6;
    case ETHERTYPE.ARP:
    case ETHERTYPE.VLAN:
    case ETHERTYPE.QINQ:
    case ETHERTYPE.MPLS:
      return true;
    default:
      return false;
  }
}

function vxlan(v: PacketView, o: number, end: number): void {
  const b = v.bytes;
  // flags with the I bit (VNI valid), then 14 bytes of Ethernet at least
  if (end - o < 8 + 14 || (b[o]! & 0x08) === 0) return;
  const vni = ((b[o + 4]! << 16) | (b[o + 5]! << 8) | b[o + 6]!) >>> 0;
  v.pushLayer(LAYER.UDP, v.l4Offset);
  v.pushLayer(LAYER.VXLAN, o);
  if (!enter(v, end)) return;
  v.tunnelId = vni;
  decodeEthernet(v, o + 8);
}

function geneve(v: PacketView, o: number, end: number): void {
  const b = v.bytes;
  if (end - o < 8 || b[o]! >> 6 !== 0) return;
  const hlen = 8 + (b[o]! & 0x3f) * 4;
  if (end - o < hlen) return;
  const proto = (b[o + 2]! << 8) | b[o + 3]!;
  if (proto !== ETHERTYPE.TEB && proto !== ETHERTYPE.IPV4 && proto !== ETHERTYPE.IPV6) return;
  const vni = ((b[o + 4]! << 16) | (b[o + 5]! << 8) | b[o + 6]!) >>> 0;
  v.pushLayer(LAYER.UDP, v.l4Offset);
  v.pushLayer(LAYER.GENEVE, o);
  if (!enter(v, end)) return;
  v.tunnelId = vni;
  if (proto === ETHERTYPE.TEB) decodeEthernet(v, o + hlen);
  else if (proto === ETHERTYPE.IPV4) decodeIPv4(v, o + hlen);
  else decodeIPv6(v, o + hlen);
}

/** GTP-U (3GPP TS 29.281): only G-PDUs (message type 255) carry a user's packet. */
function gtpU(v: PacketView, o: number, end: number): void {
  const b = v.bytes;
  if (end - o < 8) return;
  const flags = b[o]!;
  if (flags >> 5 !== 1 || (flags & 0x10) === 0 || b[o + 1] !== 0xff) return;
  const teid = ((b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) >>> 0;
  const len = (b[o + 2]! << 8) | b[o + 3]!;
  const msgEnd = o + 8 + len < end ? o + 8 + len : end;
  let p = o + 8;
  if (flags & 0x07) {
    // sequence number, N-PDU number, next extension header type; then the extension headers, each
    // 4n bytes long with the next one's type in its last byte
    if (msgEnd - p < 4) return;
    let next = b[p + 3]!;
    p += 4;
    while (next !== 0) {
      if (msgEnd - p < 1) return;
      const extLen = b[p]! * 4;
      if (extLen === 0 || msgEnd - p < extLen) return;
      next = b[p + extLen - 1]!;
      p += extLen;
    }
  }
  if (p >= msgEnd) return;
  const version = b[p]! >> 4;
  if (version !== 4 && version !== 6) return;
  v.pushLayer(LAYER.UDP, v.l4Offset);
  v.pushLayer(LAYER.GTP_U, o);
  if (!enter(v, msgEnd)) return;
  v.tunnelId = teid;
  decodeRawIp(v, p);
}

/** Teredo (RFC 4380): IPv6 in UDP, after an optional authentication and origin indication. */
function teredo(v: PacketView, o: number, end: number): void {
  const b = v.bytes;
  let p = o;
  if (end - p >= 4 && b[p] === 0 && b[p + 1] === 1) p += 4 + b[p + 2]! + b[p + 3]! + 8 + 1; // authentication
  if (end - p >= 8 && b[p] === 0 && b[p + 1] === 0) p += 8; // origin indication
  if (end - p < 40 || b[p]! >> 4 !== 6) return;
  v.pushLayer(LAYER.UDP, v.l4Offset);
  v.pushLayer(LAYER.TEREDO, o);
  if (enter(v, end)) decodeIPv6(v, p);
}

/** AYIYA ("anything in anything"): identity and signature lengths in the header, then IPv6 or IPv4. */
function ayiya(v: PacketView, o: number, end: number): void {
  const b = v.bytes;
  if (end - o < 8) return;
  const idLen = 1 << (b[o]! >> 4);
  const sigLen = (b[o + 1]! >> 4) * 4;
  const opcode = b[o + 2]! & 0x0f;
  const next = b[o + 3]!;
  const p = o + 8 + idLen + sigLen;
  if (opcode !== 1 || (next !== IPPROTO.IPV6 && next !== IPPROTO.IPIP) || p >= end) return;
  v.pushLayer(LAYER.UDP, v.l4Offset);
  v.pushLayer(LAYER.AYIYA, o);
  if (!enter(v, end)) return;
  if (next === IPPROTO.IPV6) decodeIPv6(v, p);
  else decodeIPv4(v, p);
}
