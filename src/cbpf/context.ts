/**
 * What a classic program sees besides the packet bytes: the socket buffer's fields that ancillary loads
 * read, where its headers start, and its length. Everything is optional; the defaults describe an
 * Ethernet frame received on a plain device.
 */

/** The run context of a classic BPF program (the kernel's sk_buff, reduced to what cBPF can read). */
export interface ClassicContext {
  /** skb->len, what `ld #len` reads; default the packet's byte length (a capture's original length fits here). */
  len?: number;
  /** Where the network header starts (SKF_NET_OFF loads); default 14 (after an Ethernet header). */
  netOffset?: number;
  /** Where the link-layer header starts (SKF_LL_OFF loads); default 0. */
  macOffset?: number;
  /** ntohs(skb->protocol); default the EtherType at bytes 12..13 when the packet has 14 bytes, else 0. */
  protocol?: number;
  /** skb->pkt_type: 0 host, 1 broadcast, 2 multicast, 3 other host, 4 outgoing; default 0. */
  pktType?: number;
  /** The device's ifindex; default 1. */
  ifindex?: number;
  /** The device's ARPHRD_* type; default 1 (ARPHRD_ETHER). */
  hatype?: number;
  mark?: number;
  /** skb->queue_mapping. */
  queue?: number;
  /** skb->hash. */
  rxhash?: number;
  /** The CPU the filter runs on. */
  cpu?: number;
  /** skb->vlan_tci (without the present flag); default 0. */
  vlanTci?: number;
  /** Whether the frame carried an (offloaded) VLAN tag; default false. */
  vlanPresent?: boolean;
  /** ntohs(skb->vlan_proto); default 0. */
  vlanTpid?: number;
  /** What skb_get_poff() would return (the payload's offset, from the flow dissector); default 0. */
  payOffset?: number;
  /** The value `ld #rand` returns (the kernel's is prandom; tests want it fixed); default 0. */
  random?: number;
}

/** The context with every default filled in, for one packet. */
export interface ResolvedContext {
  len: number;
  netOffset: number;
  macOffset: number;
  protocol: number;
  pktType: number;
  ifindex: number;
  hatype: number;
  mark: number;
  queue: number;
  rxhash: number;
  cpu: number;
  vlanTci: number;
  vlanPresent: number;
  vlanTpid: number;
  payOffset: number;
  random: number;
}

/** Fill in the defaults for `packet`. */
export function resolveContext(packet: Uint8Array, ctx: ClassicContext = {}): ResolvedContext {
  const u32 = (v: number | undefined, d: number) => (v ?? d) >>> 0;
  return {
    len: u32(ctx.len, packet.length),
    netOffset: ctx.netOffset ?? 14,
    macOffset: ctx.macOffset ?? 0,
    protocol: u32(ctx.protocol, packet.length >= 14 ? (packet[12]! << 8) | packet[13]! : 0) & 0xffff,
    pktType: u32(ctx.pktType, 0) & 7,
    ifindex: u32(ctx.ifindex, 1),
    hatype: u32(ctx.hatype, 1) & 0xffff,
    mark: u32(ctx.mark, 0),
    queue: u32(ctx.queue, 0) & 0xffff,
    rxhash: u32(ctx.rxhash, 0),
    cpu: u32(ctx.cpu, 0),
    vlanTci: u32(ctx.vlanTci, 0) & 0xffff,
    vlanPresent: ctx.vlanPresent ? 1 : 0,
    vlanTpid: u32(ctx.vlanTpid, 0) & 0xffff,
    payOffset: u32(ctx.payOffset, 0),
    random: u32(ctx.random, 0),
  };
}
