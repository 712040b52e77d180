/**
 * What an MPLS label stack carries: no field says, so the first bytes after the bottom label decide.
 * Routers and Wireshark look at the first nibble — 4 IPv4, 6 IPv6, 0 a pseudowire control word (RFC 4385)
 * before an Ethernet frame (RFC 4448), 1 a pseudowire associated channel — but an Ethernet pseudowire
 * without a control word starts with a MAC address, whose first nibble can be anything. Wireshark breaks
 * that tie with its vendor (OUI) table: a payload whose first twelve bytes read as two known vendors'
 * addresses is Ethernet without a control word. bpfkit has no vendor table, and asks the frame instead:
 * where would an EtherType sit, and does it name a protocol whose header is there? See docs/packets.md
 * for the cases where the two answers differ.
 */
import { ETHERTYPE } from './constants.js';

/** How to read an MPLS payload. */
export const MplsPayload = {
  IP: 0,
  /** a control word, then an Ethernet frame */
  EthernetCw: 1,
  /** an Ethernet frame right after the label stack */
  Ethernet: 2,
  /** a pseudowire associated channel (OAM, BFD) or unknown: not data */
  None: 3,
} as const;

/** The kind of payload at b[o, end) after the bottom-of-stack label. */
export function mplsPayloadKind(b: Uint8Array, o: number, end: number): number {
  const nibble = b[o]! >> 4;
  if (nibble === 4)
    return ipv4Plausible(b, o, end) || !ethernetPlausible(b, o, end) ? MplsPayload.IP : MplsPayload.Ethernet;
  if (nibble === 6) return end - o >= 40 || !ethernetPlausible(b, o, end) ? MplsPayload.IP : MplsPayload.Ethernet;
  if (nibble === 0)
    // a control word unless only the reading without one finds an EtherType where it should be
    return ethernetPlausible(b, o, end) && !ethernetPlausible(b, o + 4, end)
      ? MplsPayload.Ethernet
      : MplsPayload.EthernetCw;
  if (nibble === 1) return MplsPayload.None;
  return ethernetPlausible(b, o, end) ? MplsPayload.Ethernet : MplsPayload.None;
}

/** An IPv4 header at o: a length of 5-15 words, and a total length that fits what was captured. */
function ipv4Plausible(b: Uint8Array, o: number, end: number): boolean {
  if (end - o < 20) return false;
  const ihl = (b[o]! & 15) * 4;
  const total = (b[o + 2]! << 8) | b[o + 3]!;
  return ihl >= 20 && total >= ihl;
}

/**
 * An Ethernet header at p whose EtherType names something whose header is there. A wrong reading puts
 * arbitrary bytes (an IPv6 flow label, a length) where the EtherType would be, so each type's next header
 * is checked too: a VLAN tag must lead to another plausible type, MPLS to a short stack and a payload nibble,
 * ARP must be Ethernet/IPv4, PPPoE version 1.
 */
function ethernetPlausible(b: Uint8Array, p: number, end: number): boolean {
  return typePlausible(b, p + 12, end, 2);
}

/** The EtherType at t and the first bytes of what it names (`tags`: VLAN tags still allowed). */
function typePlausible(b: Uint8Array, t: number, end: number, tags: number): boolean {
  if (end - t < 6) return false;
  const type = (b[t]! << 8) | b[t + 1]!;
  const n = t + 2;
  switch (type) {
    case ETHERTYPE.IPV4:
      return b[n]! >> 4 === 4 && (b[n]! & 15) >= 5;
    case ETHERTYPE.IPV6:
      return b[n]! >> 4 === 6;
    case ETHERTYPE.VLAN:
    case ETHERTYPE.QINQ:
    case ETHERTYPE.QINQ_OLD:
      return tags > 0 && typePlausible(b, n + 2, end, tags - 1);
    case ETHERTYPE.MPLS:
    case ETHERTYPE.MPLS_MULTICAST:
      return labelStackPlausible(b, n, end);
    case ETHERTYPE.ARP:
      return b[n] === 0 && b[n + 1] === 1 && b[n + 2] === 8 && b[n + 3] === 0;
    case ETHERTYPE.PPPOE_SESSION:
      return b[n] === 0x11;
    default:
      return false;
  }
}

/** A label stack of at most four entries at n whose bottom is followed by a nibble MPLS payloads start with. */
function labelStackPlausible(b: Uint8Array, n: number, end: number): boolean {
  for (let i = 0; i < 4 && n + 4 < end; i++, n += 4) {
    if ((b[n + 2]! & 1) === 0) continue;
    const next = b[n + 4]! >> 4;
    return next === 0 || next === 4 || next === 6;
  }
  return false;
}
