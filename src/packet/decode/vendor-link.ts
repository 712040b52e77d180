/**
 * Link types that are Ethernet behind a vendor's header or inside a switch's tag: Juniper's capture
 * header (LINKTYPE_JUNIPER_ETHER), Marvell DSA/EDSA and Broadcom tags (LINKTYPE_DSA_TAG_*), as libpcap's
 * link-type registry describes them.
 */
import { LINKTYPE } from '../linktype.js';
import { decodeEtherType, decodeEthernet } from './ethertype.js';
import { LAYER } from './layers.js';
import { decodeRawIp } from './link.js';
import type { PacketView } from './packet-view.js';

/** Juniper's header flags: extension TLVs follow (with their 2-byte total length); no link-layer header. */
const JUNIPER_EXT = 0x80;
const JUNIPER_NO_L2 = 0x02;

/**
 * Juniper: "MGC", a flags byte, the extension TLVs when flagged, then Ethernet — or, when the link-layer
 * header was stripped, 4 bytes (a protocol code in the capturing host's order) and the IP packet.
 */
export function decodeJuniperEther(v: PacketView, s: number): void {
  const b = v.bytes;
  const end = v.end;
  v.pushLayer(LAYER.JUNIPER, s);
  if (end - s < 4) {
    v.truncated = true;
    return;
  }
  if (b[s] !== 0x4d || b[s + 1] !== 0x47 || b[s + 2] !== 0x43) {
    v.malformed = true;
    return;
  }
  const flags = b[s + 3]!;
  let o = s + 4;
  if (flags & JUNIPER_EXT) {
    if (end - o < 2) {
      v.truncated = true;
      return;
    }
    o += 2 + ((b[o]! << 8) | b[o + 1]!);
  }
  if (flags & JUNIPER_NO_L2) o += 4;
  if (o >= end) {
    v.truncated = true;
    return;
  }
  if (flags & JUNIPER_NO_L2) decodeRawIp(v, o);
  else decodeEthernet(v, o);
}

/**
 * Ethernet carrying a switch tag: 4 bytes (Marvell DSA, Broadcom) or 8 (Marvell EDSA: its EtherType,
 * 2 reserved bytes, the DSA tag) between the source address and the EtherType; or 4 bytes before the
 * whole frame (Broadcom "prepend"). The frame's own EtherType follows the tag.
 */
export function decodeSwitchTagged(v: PacketView, s: number): void {
  const b = v.bytes;
  const end = v.end;
  if (v.linktype === LINKTYPE.DSA_TAG_BRCM_PREPEND) {
    v.pushLayer(LAYER.DSA_TAG, s);
    if (end - s < 4) {
      v.truncated = true;
      return;
    }
    decodeEthernet(v, s + 4);
    return;
  }
  v.pushLayer(LAYER.ETHERNET, s);
  const tag = v.linktype === LINKTYPE.DSA_TAG_EDSA ? 8 : 4;
  if (end - s < 14 + tag) {
    v.truncated = true;
    return;
  }
  v.macDstOffset = s;
  v.macSrcOffset = s + 6;
  v.pushLayer(LAYER.DSA_TAG, s + 12);
  const t = s + 12 + tag;
  decodeEtherType(v, (b[t]! << 8) | b[t + 1]!, t + 2);
}
