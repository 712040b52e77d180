/**
 * Encapsulation rewrites: each takes the corpus's Ethernet frames (Ethernet + IPv4/IPv6 + TCP, as tcpdump
 * on lo writes them) and wraps every one in a link type or tunnel, keeping the inner packet byte for byte,
 * so the server's log stays the ground truth. Outer headers use documentation addresses; checksums of
 * outer IPv4 headers are computed (tshark checks none by default, but a real capture has them right).
 */
import type { Frame } from './pcap-out.js';
import { LINKTYPE } from '../../../src/packet/linktype.js';

const ETH_DST = [0x02, 0, 0, 0, 0, 0xbb];
const ETH_SRC = [0x02, 0, 0, 0, 0, 0xaa];

function cat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const be16 = (n: number) => [(n >> 8) & 255, n & 255];
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const le16 = (n: number) => [n & 255, (n >> 8) & 255];

/** The IP packet and its EtherType inside a corpus frame (untagged Ethernet). */
function inner(f: Uint8Array): { type: number; ip: Uint8Array; v6: boolean } {
  const type = (f[12]! << 8) | f[13]!;
  return { type, ip: f.subarray(14), v6: type === 0x86dd };
}

function ipv4(proto: number, payload: Uint8Array, id = 0): Uint8Array {
  const h = [0x45, 0, ...be16(20 + payload.length), ...be16(id), 0x40, 0, 64, proto, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2];
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (h[i]! << 8) | h[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  h[10] = (~sum >> 8) & 255;
  h[11] = ~sum & 255;
  return cat(h, payload);
}

function ipv6(next: number, payload: Uint8Array): Uint8Array {
  const addr = (last: number) => [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), last];
  return cat([0x60, 0, 0, 0, ...be16(payload.length), next, 64, ...addr(1), ...addr(2)], payload);
}

function udp(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  return cat([...be16(sport), ...be16(dport), ...be16(8 + payload.length), 0, 0], payload);
}

function eth(type: number, payload: Uint8Array): Uint8Array {
  return cat(ETH_DST, ETH_SRC, be16(type), payload);
}

function gre(flags: number, proto: number, payload: Uint8Array, extra: number[] = []): Uint8Array {
  return cat([...be16(flags), ...be16(proto), ...extra], payload);
}

/** An 802.11 QoS data frame from the distribution system, with LLC/SNAP naming the EtherType. */
function wlanData(type: number, ip: Uint8Array): Uint8Array {
  const hdr = [0x88, 0x02, 0, 0, ...ETH_DST, ...ETH_SRC, ...ETH_SRC, 0, 0, 0, 0];
  return cat(hdr, [0xaa, 0xaa, 0x03, 0, 0, 0, ...be16(type)], ip);
}

/** Source port of a flow-hashed tunnel (VXLAN, Geneve): stable per inner packet's addresses. */
function hashPort(ip: Uint8Array): number {
  let h = 0;
  for (let i = 8; i < Math.min(ip.length, 40); i++) h = (h * 31 + ip[i]!) >>> 0;
  return 49152 + (h % 16384);
}

/** One encapsulation: the capture's link type, and how a corpus frame is wrapped. */
export interface Encap {
  linktype: number;
  wrap(frame: Uint8Array, index: number): Uint8Array;
  /** what tshark cannot follow here (the test says why); undefined when it can */
  tsharkCannot?: string;
}

export const ENCAPS: Record<string, Encap> = {
  'raw-101': { linktype: LINKTYPE.RAW, wrap: (f) => inner(f).ip.slice() },
  'raw-12': { linktype: LINKTYPE.RAW_12, wrap: (f) => inner(f).ip.slice() },
  nflog: {
    linktype: LINKTYPE.NFLOG,
    wrap: (f) => {
      const { ip, v6, type } = inner(f);
      const pad = (4 - (ip.length % 4)) % 4;
      // header; NFULA_PACKET_HDR (hw protocol, hook); NFULA_PREFIX "x\0"; NFULA_PAYLOAD
      return cat(
        [v6 ? 10 : 2, 0, 0, 0],
        [...le16(8), ...le16(1), ...be16(type), 1, 0],
        [...le16(6), ...le16(10), 0x78, 0, 0, 0],
        [...le16(4 + ip.length), ...le16(9)],
        ip,
        Array(pad).fill(0),
      );
    },
  },
  'linux-sll': {
    linktype: LINKTYPE.LINUX_SLL,
    wrap: (f) => cat([0, 0, 0, 1, 0, 6, ...ETH_SRC, 0, 0, f[12]!, f[13]!], inner(f).ip),
  },
  'linux-sll2': {
    linktype: LINKTYPE.LINUX_SLL2,
    wrap: (f) => cat([f[12]!, f[13]!, 0, 0, ...be32(1), 0, 1, 0, 6, ...ETH_SRC, 0, 0], inner(f).ip),
  },
  null: {
    linktype: LINKTYPE.NULL,
    wrap: (f) => cat(inner(f).v6 ? [24, 0, 0, 0] : [2, 0, 0, 0], inner(f).ip),
  },
  loop: {
    linktype: LINKTYPE.LOOP,
    wrap: (f) => cat(inner(f).v6 ? [0, 0, 0, 24] : [0, 0, 0, 2], inner(f).ip),
  },
  ppp: {
    linktype: LINKTYPE.PPP,
    wrap: (f) => cat([0xff, 0x03, 0, inner(f).v6 ? 0x57 : 0x21], inner(f).ip),
  },
  'cisco-hdlc': { linktype: LINKTYPE.C_HDLC, wrap: (f) => cat([0x0f, 0x00, f[12]!, f[13]!], inner(f).ip) },
  pppoe: {
    linktype: LINKTYPE.EN10MB,
    wrap: (f) => {
      const { ip, v6 } = inner(f);
      return eth(0x8864, cat([0x11, 0, ...be16(0x1234), ...be16(2 + ip.length), 0, v6 ? 0x57 : 0x21], ip));
    },
  },
  mpls: {
    linktype: LINKTYPE.EN10MB,
    wrap: (f) => eth(0x8847, cat([0, 0x06, 0x40, 0x40, 0, 0x0c, 0x81, 0x40], inner(f).ip)),
  },
  'mpls-pseudowire': {
    linktype: LINKTYPE.EN10MB,
    wrap: (f) => eth(0x8847, cat([0, 0x12, 0xc1, 0x40, 0, 0, 0, 0], f)),
  },
  // no control word: the frame's own addresses (00:01:02:..., a known vendor's) follow the label
  'mpls-pw-nocw': { linktype: LINKTYPE.EN10MB, wrap: (f) => eth(0x8847, cat([0, 0x12, 0xc1, 0x40], f)) },
  'vlan-x3': {
    linktype: LINKTYPE.EN10MB,
    wrap: (f) => cat(f.subarray(0, 12), [0x88, 0xa8, 0, 1, 0x81, 0, 0, 2, 0x81, 0, 0, 3], f.subarray(12)),
  },
  '802.1ah': {
    linktype: LINKTYPE.EN10MB,
    wrap: (f) => eth(0x88a8, cat([0, 7, 0x88, 0xe7, 0, 0x01, 0x00, 0x2a], f)),
  },
  gre: {
    linktype: LINKTYPE.EN10MB,
    // checksum (left 0), key and sequence number all present
    wrap: (f, i) => {
      const { ip, type } = inner(f);
      return eth(0x0800, ipv4(47, gre(0xb000, type, ip, [0, 0, 0, 0, ...be32(77), ...be32(i)])));
    },
  },
  'gre-ipv6': {
    linktype: LINKTYPE.EN10MB,
    wrap: (f) => eth(0x86dd, ipv6(47, gre(0x0000, inner(f).type, inner(f).ip))),
  },
  'gre-teb': { linktype: LINKTYPE.EN10MB, wrap: (f) => eth(0x0800, ipv4(47, gre(0x2000, 0x6558, f, be32(5)))) },
  'erspan-ii': {
    linktype: LINKTYPE.EN10MB,
    wrap: (f, i) => eth(0x0800, ipv4(47, gre(0x1000, 0x88be, cat([0x10, 0, 0x00, 0x64, 0, 0, 0, 0], f), be32(i)))),
  },
  'erspan-iii': {
    linktype: LINKTYPE.EN10MB,
    // with the optional 8-byte platform subheader (O bit)
    wrap: (f, i) =>
      eth(
        0x0800,
        ipv4(
          47,
          gre(0x1000, 0x22eb, cat([0x20, 0, 0, 0x65, ...be32(i), 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], f), be32(i)),
        ),
      ),
  },
  'aruba-gre': {
    linktype: LINKTYPE.EN10MB,
    wrap: (f) => eth(0x0800, ipv4(47, gre(0, 0x8210, wlanData(inner(f).type, inner(f).ip)))),
  },
  vxlan: {
    linktype: LINKTYPE.EN10MB,
    wrap: (f) => eth(0x0800, ipv4(17, udp(hashPort(inner(f).ip), 4789, cat([0x08, 0, 0, 0, 0, 0x10, 0x01, 0], f)))),
  },
  geneve: {
    linktype: LINKTYPE.EN10MB,
    // 8 bytes of options (one TLV: class, type, length 1 word, 4 bytes of data)
    wrap: (f) =>
      eth(
        0x86dd,
        ipv6(
          17,
          udp(hashPort(inner(f).ip), 6081, cat([0x02, 0, 0x65, 0x58, 0, 0, 0x2a, 0, 1, 2, 3, 1, 9, 9, 9, 9], f)),
        ),
      ),
  },
  'gtp-u': {
    linktype: LINKTYPE.EN10MB,
    // E flag: sequence/N-PDU/next type 0x85 (PDU session container), one 4-byte extension header
    wrap: (f) => {
      const ip = inner(f).ip;
      const body = cat([0, 0, 0, 0x85, 1, 0x10, 0x09, 0], ip);
      return eth(0x0800, ipv4(17, udp(2152, 2152, cat([0x34, 0xff, ...be16(body.length), ...be32(0xabcdef)], body))));
    },
  },
  'ip-in-ip': {
    linktype: LINKTYPE.EN10MB,
    wrap: (f) => eth(0x0800, ipv4(inner(f).v6 ? 41 : 4, inner(f).ip)),
  },
  'ip-in-ipv6': {
    linktype: LINKTYPE.EN10MB,
    wrap: (f) => eth(0x86dd, ipv6(inner(f).v6 ? 41 : 4, inner(f).ip)),
  },
  teredo: {
    linktype: LINKTYPE.EN10MB,
    // IPv6 only (IPv4 frames stay as they are); every other one with an origin indication
    wrap: (f, i) => {
      const { ip, v6 } = inner(f);
      if (!v6) return f;
      const origin = i % 2 ? [0, 0, 0x12, 0x34, 192, 0, 2, 9] : [];
      return eth(0x0800, ipv4(17, udp(3544, 40000, cat(origin, ip))));
    },
  },
  ayiya: {
    linktype: LINKTYPE.EN10MB,
    // 16-byte identity, 20-byte signature, opcode 1 (forward)
    wrap: (f) => {
      const { ip, v6 } = inner(f);
      const head = [0x41, 0x52, 0x21, v6 ? 41 : 4, 0, 0, 0, 1, ...Array(16).fill(7), ...Array(20).fill(0)];
      return eth(0x0800, ipv4(17, udp(5072, 5072, cat(head, ip))));
    },
  },
  l2tp: {
    linktype: LINKTYPE.EN10MB,
    // L2TPv2 data messages, length and sequence numbers present, then PPP with its address and control bytes
    wrap: (f, i) => {
      const { ip, v6 } = inner(f);
      const ppp = cat([0xff, 0x03, ...be16(v6 ? 0x0057 : 0x0021)], ip);
      const head = [0x48, 0x02, ...be16(12 + ppp.length), ...be16(5), ...be16(9), ...be16(i), ...be16(0)];
      return eth(0x0800, ipv4(17, udp(1701, 1701, cat(head, ppp))));
    },
  },
  // L2TPv3 Ethernet pseudowires (RFC 3931, 4719). tshark reads a data message whose control channel was
  // not captured as no cookie, no sublayer, payload undecoded (its default, "Detect"): it finds nothing
  // inside. bpfkit reads an Ethernet pseudowire at the first offset where one starts (tunnel.ts).
  'l2tpv3-ip': {
    linktype: LINKTYPE.EN10MB,
    // straight over IP (protocol 115), no cookie, no sublayer: Linux's `ip l2tp` default
    wrap: (f) => eth(0x0800, ipv4(115, cat(be32(0x1234), f))),
    tsharkCannot: 'payload of a session whose control channel was not captured',
  },
  'l2tpv3-ip-cookie': {
    linktype: LINKTYPE.EN10MB,
    // a 4-byte cookie and the default L2-specific sublayer (S bit, sequence number), over IPv6
    wrap: (f, i) => eth(0x86dd, ipv6(115, cat(be32(0x2345), [0xc0, 0x0c, 0x1e, 0x55, 0x40, 0, ...be16(i)], f))),
    tsharkCannot: 'payload of a session whose control channel was not captured',
  },
  'l2tpv3-udp': {
    linktype: LINKTYPE.EN10MB,
    // over UDP 1701 (T bit clear, version 3, reserved), an 8-byte cookie
    wrap: (f) => eth(0x0800, ipv4(17, udp(1701, 1701, cat([0, 3, 0, 0, ...be32(0x3456), ...Array(8).fill(0xc8)], f)))),
    tsharkCannot: 'payload of a session whose control channel was not captured',
  },
  ieee802_11: { linktype: LINKTYPE.IEEE802_11, wrap: (f) => wlanData(inner(f).type, inner(f).ip) },
  radiotap: {
    linktype: LINKTYPE.IEEE802_11_RADIO,
    // TSFT and Flags present, Flags saying an FCS ends the frame
    wrap: (f) =>
      cat(
        [0, 0, ...le16(17), 0x03, 0, 0, 0, ...Array(8).fill(0), 0x10],
        wlanData(inner(f).type, inner(f).ip),
        [0, 0, 0, 0],
      ),
  },
  // Many at once: VXLAN in GRE in MPLS over PPPoE in three VLAN tags.
  nested: {
    linktype: LINKTYPE.EN10MB,
    wrap: (f, i) => {
      const vx = ipv4(17, udp(hashPort(inner(f).ip), 4789, cat([0x08, 0, 0, 0, 0, 0, 9, 0], f)));
      const g = ipv4(47, gre(0x2000, 0x0800, vx, be32(i)));
      const ppp = cat([0x11, 0, ...be16(7), ...be16(4 + 2 + g.length), 0x02, 0x81, 0, 0x01, 0x01, 0x40], g);
      return cat(ETH_DST, ETH_SRC, [0x88, 0xa8, 0, 1, 0x81, 0, 0, 2, 0x81, 0, 0, 3, 0x88, 0x64], ppp);
    },
  },
};

/** The corpus frames wrapped in one encapsulation. */
export function encapsulate(name: string, frames: Frame[]): { linktype: number; frames: Frame[] } {
  const e = ENCAPS[name]!;
  return { linktype: e.linktype, frames: frames.map((f, i) => ({ ...f, data: e.wrap(f.data, i) })) };
}
