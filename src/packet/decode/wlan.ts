/**
 * 802.11 data frames (link types 105 and 127, and Aruba's GRE): the MAC header's length follows from the
 * frame control field (four addresses when both DS bits are set, QoS control, HT control), then LLC/SNAP
 * names the EtherType. Radiotap (127) prefixes its own little-endian header, whose Flags field says
 * whether a frame check sequence ends the frame. Encrypted frames stop here (`undecoded = '802.11'`);
 * management and control frames are decoded as what they are: not IP.
 */
import { decodeEtherType } from './ethertype.js';
import { LAYER } from './layers.js';
import type { PacketView } from './packet-view.js';

/** `undecodedType` for encrypted 802.11 frames. */
export const WLAN_ENCRYPTED = 1;

export function decodeRadiotap(v: PacketView, o: number): void {
  const b = v.bytes;
  v.pushLayer(LAYER.RADIOTAP, o);
  if (v.end - o < 8) {
    v.truncated = true;
    return;
  }
  const len = b[o + 2]! | (b[o + 3]! << 8);
  if (b[o] !== 0 || len < 8) {
    v.malformed = true;
    return;
  }
  if (v.end - o < len) {
    v.truncated = true;
    return;
  }
  // The first present-bits word: bit 0 TSFT (8 bytes, 8-aligned), bit 1 Flags (1 byte), bit 31 another word.
  const present = (b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16) | (b[o + 7]! << 24)) >>> 0;
  let field = 4;
  let word = present;
  while (word & 0x80000000 && field + 4 < len) {
    field += 4;
    word = (b[o + field]! | (b[o + field + 1]! << 8) | (b[o + field + 2]! << 16) | (b[o + field + 3]! << 24)) >>> 0;
  }
  field += 4;
  if (present & 1) field = ((field + 7) & ~7) + 8;
  if (present & 2 && field < len && b[o + field]! & 0x10 && v.end - (o + len) >= 4) v.end -= 4; // FCS at the end
  decodeWlan(v, o + len);
}

export function decodeWlan(v: PacketView, o: number): void {
  const b = v.bytes;
  v.pushLayer(LAYER.IEEE802_11, o);
  if (v.end - o < 24) {
    v.truncated = true;
    return;
  }
  const fc0 = b[o]!;
  const fc1 = b[o + 1]!;
  const type = (fc0 >> 2) & 3;
  const subtype = fc0 >> 4;
  if (type !== 2 || subtype & 0x4) return; // not a data frame, or one without data
  if (fc1 & 0x40) {
    v.stopAt('802.11', WLAN_ENCRYPTED);
    return;
  }
  let hlen = 24;
  if ((fc1 & 3) === 3) hlen += 6; // to and from the distribution system: a fourth address
  if (subtype & 0x8) {
    hlen += 2; // QoS control
    if (fc1 & 0x80) hlen += 4; // HT control
  }
  const p = o + hlen;
  if (v.end - p < 8) {
    v.truncated = true;
    return;
  }
  if (b[p] !== 0xaa || b[p + 1] !== 0xaa || b[p + 2] !== 0x03) return; // not LLC/SNAP: nothing known
  v.pushLayer(LAYER.LLC_SNAP, p);
  decodeEtherType(v, (b[p + 6]! << 8) | b[p + 7]!, p + 8);
}
