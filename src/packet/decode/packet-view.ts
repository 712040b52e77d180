/**
 * PacketView: a reusable, allocation-free decoder. `decode(bytes, linktype)` fills numeric fields
 * (offsets into `bytes`, ports, flags, ...) for the link, network and transport headers it finds.
 * Nothing is allocated per packet; strings (addresses) are built only when you call the format
 * helpers. Garbage bytes never throw: the view marks `truncated` (capture ended inside a header)
 * or `malformed` (a header field makes no sense) and keeps what it decoded before that point.
 *
 * Every offset is an index into `bytes` (so with `decode(bytes, lt, start, end)` they are absolute,
 * not relative to `start`); -1 means "not present".
 *
 *   const view = new PacketView();
 *   await reader.forEachPacket((p) => {
 *     view.decode(p.bytes, p.linktype, p.offset, p.offset + p.caplen);
 *     if (view.proto === IPPROTO.TCP && view.dstPort === 80 && view.payloadLength > 0) { ... }
 *   });
 */
import { decodeLink } from './link.js';
import { formatIP, formatMac } from './format.js';
import { LAYER_NAMES, MAX_ENCAP_DEPTH, MAX_LAYERS } from './layers.js';
import { linktypeName } from '../linktype.js';

/**
 * A reusable decoder from link layer to transport header. `decode` fills its fields without allocating
 * and never throws on packet bytes: it sets `truncated` or `malformed` instead.
 */
export class PacketView {
  /** the decoded bytes (as passed to decode) */
  bytes: Uint8Array = new Uint8Array(0);
  /** first and one-past-last byte of the packet in `bytes` */
  start = 0;
  end = 0;
  linktype = 0;

  /** the capture ended inside a header (fields after that point are unset) */
  truncated = false;
  /** a header field is impossible (bad version, header length too small, ...) */
  malformed = false;

  // ---- encapsulation (tunnels, label stacks, link layers inside link layers)
  /**
   * Every header walked, outermost first (LAYER values, see layers.ts) and where it starts; only the
   * first `layerCount` entries are this packet's. The fields below describe the innermost packet.
   */
  readonly layerKinds = new Uint8Array(MAX_LAYERS);
  readonly layerOffsets = new Int32Array(MAX_LAYERS);
  layerCount = 0;
  /** packets entered inside the outermost one (a tunnel, an MPLS payload, a PPPoE session, ...) */
  encapDepth = 0;
  /** nested deeper than MAX_ENCAP_DEPTH: decoding stopped there (also `malformed`) */
  tooDeep = false;
  /** the outermost IP header (-1 when none); equal to l3Offset when nothing is tunnelled */
  outerL3Offset = -1;
  /** the innermost tunnel's id: VXLAN/Geneve VNI, GRE key, GTP-U TEID, ERSPAN session (-1 when none) */
  tunnelId = -1;
  /** MPLS labels seen, and the innermost one (-1 when none) */
  mplsCount = 0;
  mplsLabel = -1;
  /** PPPoE session id (-1 when none) */
  pppoeSession = -1;
  /**
   * Where decoding stopped for want of a decoder: '' (it did not), 'linktype' (the capture's link type),
   * 'ethertype', 'ppp' (a PPP protocol), 'gre' (a GRE protocol), '802.11' (encrypted or not a data frame),
   * 'nlpid' (Frame Relay's network layer protocol id), with the number that was not understood in
   * `undecodedType`.
   */
  undecoded: '' | 'linktype' | 'ethertype' | 'ppp' | 'gre' | '802.11' | 'nlpid' = '';
  undecodedType = -1;

  // ---- link layer
  /** Ethernet destination/source MAC offsets (-1 without Ethernet) */
  macDstOffset = -1;
  macSrcOffset = -1;
  /** the EtherType / SLL protocol after any VLAN tags (-1 when unknown; < 0x600 = 802.3 length) */
  etherType = -1;
  /** VLAN tags seen (802.1Q 0x8100, 802.1ad 0x88a8, 0x9100), outermost first; ids are 12-bit */
  vlanCount = 0;
  vlanOuter = -1;
  vlanInner = -1;
  /** Linux cooked captures (SLL/SLL2): packet type (0 host, 1 broadcast, 2 multicast, 3 other host, 4 outgoing) */
  sllPktType = -1;
  /** SLL2 only: interface index */
  sllIfindex = -1;

  // ---- network layer
  /** start of the IP/ARP header (-1 if none) */
  l3Offset = -1;
  /** 4, 6, or 0 when not IP */
  ipVersion = 0;
  /** IPv4 header length incl. options; IPv6: 40 + extension headers */
  ipHeaderLength = 0;
  /** IPv4 options length in bytes */
  ipOptionsLength = 0;
  /** IPv4 total length / IPv6 40 + payload length, as the header says */
  ipTotalLength = 0;
  ttl = 0;
  /** address offsets in `bytes` and their length (4 or 16) */
  srcAddrOffset = -1;
  dstAddrOffset = -1;
  addrLength = 0;
  /** IPv4 only: the addresses as unsigned 32-bit numbers (0 otherwise), for cheap comparisons and keys */
  srcIPv4 = 0;
  dstIPv4 = 0;
  /** IPv4 identification or IPv6 fragment header identification (-1 without one) */
  ipId = -1;
  /** true for any fragment (MF set or offset > 0); only the first fragment has a transport header */
  isFragment = false;
  moreFragments = false;
  dontFragment = false;
  /** fragment offset in bytes */
  fragmentOffset = 0;
  /**
   * Any fragment: where its data starts (after the IPv4 header / the IPv6 fragment header) and how many
   * bytes of it were captured (bounded by the IP length), and the protocol the reassembled data carries
   * (IPv4 protocol field / the fragment header's next header). -1 / 0 / -1 when not a fragment.
   */
  fragmentDataOffset = -1;
  fragmentDataLength = 0;
  fragmentProto = -1;
  /** the upper-layer protocol after the IPv6 extension chain (IPPROTO_*, -1 when none) */
  proto = -1;
  /** IPv6 extension headers walked (hop-by-hop, routing, fragment, destination options, AH) */
  ipv6ExtCount = 0;

  // ---- ARP
  arpOp = -1;
  arpSenderIpOffset = -1;
  arpTargetIpOffset = -1;
  arpSenderMacOffset = -1;
  arpTargetMacOffset = -1;

  // ---- transport layer
  /** start of the TCP/UDP/ICMP header (-1 if none, e.g. non-first fragments) */
  l4Offset = -1;
  srcPort = -1;
  dstPort = -1;
  /**
   * TCP sequence and acknowledgement numbers (unsigned 32-bit). Half of them do not fit a small integer:
   * the fields start as a double (-0, which is 0) so that V8 does not reshape them at the first packet.
   */
  tcpSeq = -0;
  tcpAck = -0;
  /** TCP flags byte: FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128 (see TCP_FLAG) */
  tcpFlags = 0;
  /** TCP header length in bytes (data offset * 4) */
  tcpHeaderLength = 0;
  tcpWindow = 0;
  /** UDP length field */
  udpLength = 0;
  icmpType = -1;
  icmpCode = -1;

  // ---- payload
  /** first byte after the last decoded header (TCP/UDP payload, or ICMP body, ...) */
  payloadOffset = -1;
  /** payload bytes present in the capture, not counting link-layer padding past the IP length */
  payloadLength = 0;
  /**
   * Bytes of the innermost IP packet that its length field says follow the captured ones but the
   * capture did not keep (the snapshot length cut the packet): a TCP segment's payload then really
   * spans `payloadLength + payloadCut` sequence numbers. 0 for a whole packet.
   */
  payloadCut = 0;

  /**
   * Decode one packet. `start`/`end` select the packet inside `bytes` (default: all of it).
   * Returns `this` for chaining. Never throws on packet contents.
   */
  decode(bytes: Uint8Array, linktype: number, start = 0, end = bytes.length): this {
    this.reset();
    this.bytes = bytes;
    this.start = start;
    this.end = end > bytes.length ? bytes.length : end;
    this.linktype = linktype;
    decodeLink(this);
    return this;
  }

  private reset(): void {
    this.truncated = false;
    this.malformed = false;
    this.layerCount = 0;
    this.encapDepth = 0;
    this.tooDeep = false;
    this.outerL3Offset = -1;
    this.tunnelId = -1;
    this.mplsCount = 0;
    this.mplsLabel = -1;
    this.pppoeSession = -1;
    this.undecoded = '';
    this.undecodedType = -1;
    this.macDstOffset = -1;
    this.macSrcOffset = -1;
    this.etherType = -1;
    this.vlanCount = 0;
    this.vlanOuter = -1;
    this.vlanInner = -1;
    this.sllPktType = -1;
    this.sllIfindex = -1;
    this.resetNetwork();
  }

  /** Forget the network and transport fields (a tunnel's inner packet replaces its carrier's). */
  private resetNetwork(): void {
    this.l3Offset = -1;
    this.ipVersion = 0;
    this.ipHeaderLength = 0;
    this.ipOptionsLength = 0;
    this.ipTotalLength = 0;
    this.ttl = 0;
    this.srcAddrOffset = -1;
    this.dstAddrOffset = -1;
    this.addrLength = 0;
    this.srcIPv4 = 0;
    this.dstIPv4 = 0;
    this.ipId = -1;
    this.isFragment = false;
    this.moreFragments = false;
    this.dontFragment = false;
    this.fragmentOffset = 0;
    this.fragmentDataOffset = -1;
    this.fragmentDataLength = 0;
    this.fragmentProto = -1;
    this.proto = -1;
    this.ipv6ExtCount = 0;
    this.arpOp = -1;
    this.arpSenderIpOffset = -1;
    this.arpTargetIpOffset = -1;
    this.arpSenderMacOffset = -1;
    this.arpTargetMacOffset = -1;
    this.l4Offset = -1;
    this.srcPort = -1;
    this.dstPort = -1;
    this.tcpSeq = 0;
    this.tcpAck = 0;
    this.tcpFlags = 0;
    this.tcpHeaderLength = 0;
    this.tcpWindow = 0;
    this.udpLength = 0;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.payloadOffset = -1;
    this.payloadLength = 0;
    this.payloadCut = 0;
  }

  /** Record a header (decoders call this; allocation-free). @internal */
  pushLayer(kind: number, offset: number): void {
    if (this.layerCount < MAX_LAYERS) {
      this.layerKinds[this.layerCount] = kind;
      this.layerOffsets[this.layerCount] = offset;
      this.layerCount++;
    }
  }

  /**
   * A decoder is about to decode a packet carried inside this one: the network and transport fields
   * start over (the outer ones stay in the layer list). False, with `tooDeep` and `malformed` set,
   * when the packet is nested too deep to go on. @internal
   */
  enterInner(): boolean {
    if (this.encapDepth >= MAX_ENCAP_DEPTH) {
      this.tooDeep = true;
      this.malformed = true;
      return false;
    }
    this.encapDepth++;
    this.resetNetwork();
    return true;
  }

  /** Decoding stopped at a type number no decoder knows. @internal */
  stopAt(what: PacketView['undecoded'], type: number): void {
    this.undecoded = what;
    this.undecodedType = type;
  }

  // ---- on-demand helpers (these allocate)

  /** The headers walked, outermost first: e.g. ETHERNET VLAN IPV4 GRE ETHERNET IPV4, by LAYER name. */
  layers(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.layerCount; i++) out.push(LAYER_NAMES[this.layerKinds[i]!] ?? '?');
    return out;
  }

  /** What stopped decoding, in words ("link type IEEE802_11", "EtherType 0x88cc", ...); '' when nothing did. */
  undecodedName(): string {
    const t = this.undecodedType;
    const hex = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;
    switch (this.undecoded) {
      case 'linktype':
        return `link type ${linktypeName(t)}`;
      case 'ethertype':
        // (MACsec stops only where its E or C bit hides the frame)
        return t === 0x88e5 ? 'MACsec encrypted frames' : `EtherType ${hex(t)}`;
      case 'nlpid':
        return `Frame Relay NLPID 0x${t.toString(16).padStart(2, '0')}`;
      case 'ppp':
        return `PPP protocol ${hex(t)}`;
      case 'gre':
        return `GRE protocol ${hex(t)}`;
      case '802.11':
        return t === 1 ? '802.11 encrypted frames' : `802.11 frame type ${t}`;
      default:
        return '';
    }
  }

  /** Source IP address as text ("" when there is none). */
  srcAddr(): string {
    return this.srcAddrOffset < 0 ? '' : formatIP(this.bytes, this.srcAddrOffset, this.addrLength);
  }

  /** The destination IP address as text ('' when the packet has none). */
  dstAddr(): string {
    return this.dstAddrOffset < 0 ? '' : formatIP(this.bytes, this.dstAddrOffset, this.addrLength);
  }

  /** The source MAC address as text ('' when the link layer has none). */
  srcMac(): string {
    return this.macSrcOffset < 0 ? '' : formatMac(this.bytes, this.macSrcOffset);
  }

  /** The destination MAC address as text ('' when the link layer has none). */
  dstMac(): string {
    return this.macDstOffset < 0 ? '' : formatMac(this.bytes, this.macDstOffset);
  }

  /** A view (no copy) of the payload bytes. */
  payload(): Uint8Array {
    return this.payloadOffset < 0
      ? new Uint8Array(0)
      : this.bytes.subarray(this.payloadOffset, this.payloadOffset + this.payloadLength);
  }

  /** TCP options as [kind, offset of the value, value length] triples (allocates; use on demand). */
  tcpOptions(): Array<[kind: number, offset: number, length: number]> {
    const out: Array<[number, number, number]> = [];
    if (this.proto !== 6 || this.l4Offset < 0 || this.tcpHeaderLength <= 20) return out;
    const b = this.bytes;
    const endOpts = Math.min(this.l4Offset + this.tcpHeaderLength, this.end);
    let o = this.l4Offset + 20;
    while (o < endOpts) {
      const kind = b[o]!;
      if (kind === 0) break;
      if (kind === 1) {
        o++;
        continue;
      }
      if (o + 1 >= endOpts) break;
      const len = b[o + 1]!;
      if (len < 2 || o + len > endOpts) break;
      out.push([kind, o + 2, len - 2]);
      o += len;
    }
    return out;
  }

  /** TCP MSS option value, or -1. */
  tcpMss(): number {
    for (const [kind, o, len] of this.tcpOptions())
      if (kind === 2 && len === 2) return (this.bytes[o]! << 8) | this.bytes[o + 1]!;
    return -1;
  }
}
