/** ARP (RFC 826): operation and where the sender/target hardware and protocol addresses sit. */
import type { PacketView } from './packet-view.js';

export function decodeArp(v: PacketView, o: number): void {
  const b = v.bytes;
  v.l3Offset = o;
  if (v.end - o < 8) {
    v.truncated = true;
    return;
  }
  const hlen = b[o + 4]!;
  const plen = b[o + 5]!;
  v.arpOp = (b[o + 6]! << 8) | b[o + 7]!;
  const need = 8 + 2 * (hlen + plen);
  if (v.end - o < need) {
    v.truncated = true;
    return;
  }
  v.arpSenderMacOffset = o + 8;
  v.arpSenderIpOffset = o + 8 + hlen;
  v.arpTargetMacOffset = o + 8 + hlen + plen;
  v.arpTargetIpOffset = o + 8 + 2 * hlen + plen;
  v.payloadOffset = o + need;
  v.payloadLength = 0;
}
