/**
 * `struct xdp_md` (24 bytes): data, data_end, data_meta as 32-bit VM addresses, then ingress_ifindex,
 * rx_queue_index, egress_ifindex. Defaults follow BPF_PROG_TEST_RUN: the packet "arrives" on the loopback
 * device (ifindex 1), queue 0. Every field is read-only for the program.
 */
import type { PacketBuffer } from './packet-buffer.js';

export const XDP_MD_SIZE = 24;
export const XdpMd = {
  data: 0,
  data_end: 4,
  data_meta: 8,
  ingress_ifindex: 12,
  rx_queue_index: 16,
  egress_ifindex: 20,
} as const;

export interface XdpState {
  ingressIfindex: number;
  rxQueueIndex: number;
  egressIfindex: number;
}

export function xdpStateFrom(ctx: Uint8Array | undefined): XdpState {
  const s: XdpState = { ingressIfindex: 1, rxQueueIndex: 0, egressIfindex: 0 };
  if (ctx && ctx.length >= 16) {
    const dv = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
    if (dv.getUint32(XdpMd.ingress_ifindex, true)) s.ingressIfindex = dv.getUint32(XdpMd.ingress_ifindex, true);
    s.rxQueueIndex = dv.getUint32(XdpMd.rx_queue_index, true);
  }
  return s;
}

export function writeXdp(dv: DataView, p: PacketBuffer, s: XdpState): void {
  dv.setUint32(XdpMd.data, p.base + p.data, true);
  dv.setUint32(XdpMd.data_end, p.base + p.end, true);
  dv.setUint32(XdpMd.data_meta, p.base + p.meta, true);
  dv.setUint32(XdpMd.ingress_ifindex, s.ingressIfindex, true);
  dv.setUint32(XdpMd.rx_queue_index, s.rxQueueIndex, true);
  dv.setUint32(XdpMd.egress_ifindex, s.egressIfindex, true);
}
