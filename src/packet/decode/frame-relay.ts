/**
 * Frame Relay (LINKTYPE_FRELAY) and FRF.16 multilink Frame Relay (LINKTYPE_MFR). A Frame Relay frame is
 * a Q.922 address (2 to 4 bytes, the last one with its EA bit set), then either RFC 2427's UI control
 * byte (0x03), an optional pad byte and an NLPID, or — without the UI byte — a Cisco-style EtherType.
 */
import { LINKTYPE } from '../linktype.js';
import { decodeEtherType, decodeEthernet, decodePpp, decodeSnap } from './ethertype.js';
import { decodeIPv4, decodeIPv6 } from './ip.js';
import { LAYER } from './layers.js';
import type { PacketView } from './packet-view.js';

/** Network layer protocol ids (ISO/IEC TR 9577) that RFC 2427 frames carry. */
const NLPID = {
  Q933: 0x08, // call control / link management (LMI): not IP
  SNAP: 0x80,
  CLNP: 0x81,
  ESIS: 0x82,
  ISIS: 0x83,
  IPV6: 0x8e,
  IPV4: 0xcc,
  PPP: 0xcf, // RFC 1973
} as const;

/** SNAP's OUI for IEEE 802.1 protocols: bridged 802.3 frames (protocol ids 1 with FCS, 7 without), BPDUs. */
const OUI_IEEE_8021 = 0x0080c2;

/** A Frame Relay frame at `o`. */
export function decodeFrameRelay(v: PacketView, o: number): void {
  const b = v.bytes;
  const end = v.end;
  v.pushLayer(LAYER.FRELAY, o);
  if (end - o < 2) {
    v.truncated = true;
    return;
  }
  // The address: EA (bit 0) clear on every byte but the last, 2 to 4 bytes long.
  if (b[o]! & 1) {
    v.malformed = true;
    return;
  }
  let p = o + 1;
  while (!(b[p]! & 1)) {
    if (p - o === 3) {
      v.malformed = true;
      return;
    }
    p++;
    if (p >= end) {
      v.truncated = true;
      return;
    }
  }
  p++;
  if (end - p < 2) {
    v.truncated = true;
    return;
  }
  if (b[p] !== 0x03) {
    decodeEtherType(v, (b[p]! << 8) | b[p + 1]!, p + 2);
    return;
  }
  p++;
  if (b[p] === 0x00) p++; // the pad byte (NLPID 0 would be the null network layer: never a packet)
  if (p >= end) {
    v.truncated = true;
    return;
  }
  const nlpid = b[p]!;
  p++;
  switch (nlpid) {
    case NLPID.IPV4:
      decodeIPv4(v, p);
      return;
    case NLPID.IPV6:
      decodeIPv6(v, p);
      return;
    case NLPID.PPP:
      decodePpp(v, p, false);
      return;
    case NLPID.SNAP: {
      if (end - p < 5) {
        v.truncated = true;
        return;
      }
      const oui = (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
      if (oui !== OUI_IEEE_8021) {
        decodeSnap(v, p);
        return;
      }
      const pid = (b[p + 3]! << 8) | b[p + 4]!;
      // bridged Ethernet/802.3 (the FCS, when kept, lies past any IP packet's end); other ids are BPDUs & co
      if ((pid === 0x0001 || pid === 0x0007) && v.enterInner()) decodeEthernet(v, p + 5);
      return;
    }
    case NLPID.Q933:
    case NLPID.CLNP:
    case NLPID.ESIS:
    case NLPID.ISIS:
      return; // not IP
    default:
      v.stopAt('nlpid', nlpid);
  }
}

/**
 * FRF.16 multilink Frame Relay: a 2-byte header (B begin, E end, C control, sequence number), then a
 * Frame Relay frame when B and E are both set. Control frames (link integrity) carry no IP; a fragment of
 * a longer frame is not reassembled, so it is recorded as not decoded.
 */
export function decodeMfr(v: PacketView, o: number): void {
  const b = v.bytes;
  v.pushLayer(LAYER.MFR, o);
  if (v.end - o < 2) {
    v.truncated = true;
    return;
  }
  const flags = b[o]!;
  if (flags & 0x20) return;
  if ((flags & 0xc0) !== 0xc0) {
    v.stopAt('linktype', LINKTYPE.MFR);
    return;
  }
  decodeFrameRelay(v, o + 2);
}
