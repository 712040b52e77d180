/**
 * Synthetic frames for the verdict-equality test: one of nearly everything pcap-filter can ask about
 * (ARP/RARP, ICMP, ICMPv6, UDP/DNS, TCP with every flag byte, IPv4 fragments, IPv4 options, IPv6 with a
 * fragment header and with hop-by-hop options, VLAN/QinQ, MPLS stacks, PPPoE, 802.3 LLC, broadcast and
 * multicast, truncated and runt frames), written as pcap files for each link type under test.
 */
import { writeFileSync } from 'node:fs';

const MAC_A = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
const MAC_B = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
const BCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const MCAST = [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb];

const be16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
const be32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
const ip4 = (s: string): number[] => s.split('.').map(Number);

function ip6(s: string): number[] {
  const [a, b = ''] = s.split('::');
  const h = a ? a.split(':') : [];
  const t = b ? b.split(':') : [];
  const words = s.includes('::') ? [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return words.flatMap((w) => be16(parseInt(w, 16)));
}

function ipv4(
  src: string,
  dst: string,
  proto: number,
  payload: number[],
  opts: { frag?: number; ihl?: number } = {},
): number[] {
  const ihl = opts.ihl ?? 5;
  const hdr = [
    0x40 | ihl,
    0,
    ...be16(ihl * 4 + payload.length),
    0,
    1,
    ...be16(opts.frag ?? 0),
    64,
    proto,
    0,
    0,
    ...ip4(src),
    ...ip4(dst),
  ];
  while (hdr.length < ihl * 4) hdr.push(1);
  return [...hdr, ...payload];
}

function ipv6(src: string, dst: string, next: number, payload: number[]): number[] {
  return [0x60, 0, 0, 0, ...be16(payload.length), next, 64, ...ip6(src), ...ip6(dst), ...payload];
}

const tcp = (sp: number, dp: number, flags: number): number[] => [
  ...be16(sp),
  ...be16(dp),
  ...be32(1),
  ...be32(0),
  0x50,
  flags,
  0xff,
  0xff,
  0,
  0,
  0,
  0,
];
const udp = (sp: number, dp: number, body: number[] = [1, 2, 3, 4]): number[] => [
  ...be16(sp),
  ...be16(dp),
  ...be16(8 + body.length),
  0,
  0,
  ...body,
];
const icmp = (type: number, code = 0): number[] => [type, code, 0, 0, 0, 1, 0, 1];

const eth = (dst: number[], src: number[], type: number, body: number[]): number[] => [
  ...dst,
  ...src,
  ...be16(type),
  ...body,
];

/** One frame and what the link layer underneath carries (for re-framing into other link types). */
export interface TestFrame {
  data: number[];
  /** The network-layer packet and its ethertype, when the frame is plain Ethernet II over IP/ARP. */
  l3?: { type: number; bytes: number[] };
  /** Bytes on the wire when the frame is stored truncated. */
  wireLen?: number;
}

/** The Ethernet frames. */
export function ethernetFrames(): TestFrame[] {
  const out: TestFrame[] = [];
  const add = (type: number, l3: number[], dst = MAC_B, src = MAC_A): void => {
    out.push({ data: eth(dst, src, type, l3), l3: { type, bytes: l3 } });
  };
  const arp = (op: number, spa: string, tpa: string): number[] => [
    0,
    1,
    8,
    0,
    6,
    4,
    0,
    op,
    ...MAC_A,
    ...ip4(spa),
    ...MAC_B,
    ...ip4(tpa),
  ];
  add(0x0806, arp(1, '10.0.0.1', '10.0.0.2'), BCAST);
  add(0x0806, arp(2, '10.0.0.2', '10.0.0.1'));
  add(0x8035, arp(3, '192.168.1.5', '192.168.1.1'), BCAST);
  for (const [s, d] of [
    ['10.0.0.1', '10.0.0.2'],
    ['192.168.1.10', '8.8.8.8'],
    ['172.16.5.4', '10.0.0.1'],
  ] as const) {
    add(0x0800, ipv4(s, d, 1, icmp(8)));
    add(0x0800, ipv4(d, s, 1, icmp(0)));
    add(0x0800, ipv4(s, d, 17, udp(40000, 53)));
    add(0x0800, ipv4(d, s, 17, udp(53, 40000)));
    add(0x0800, ipv4(s, d, 6, tcp(12345, 443, 0x02)));
    add(0x0800, ipv4(s, d, 6, tcp(22, 1022, 0x18)));
  }
  add(0x0800, ipv4('10.0.0.1', '10.0.0.2', 1, icmp(3, 3)));
  add(0x0800, ipv4('10.0.0.1', '10.0.0.2', 1, icmp(11, 0)));
  for (let flags = 0; flags < 256; flags++)
    add(
      0x0800,
      ipv4('10.1.2.3', '10.3.2.1', 6, tcp(flags % 2 ? 80 : 33000 + flags, flags % 2 ? 40000 + flags : 80, flags)),
    );
  for (const p of [20, 21, 25, 110, 123, 8080, 65535, 0, 1024, 5353]) {
    add(0x0800, ipv4('10.9.9.9', '10.8.8.8', 17, udp(p, 1000 + p)));
    add(0x0800, ipv4('10.9.9.9', '10.8.8.8', 6, tcp(2000 + p, p, 0x10)));
  }
  add(0x0800, ipv4('10.0.0.1', '10.0.0.2', 132, udp(80, 9999)));
  add(0x0800, ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1234, 80, 0x02), { frag: 0x2000 }));
  add(0x0800, ipv4('10.0.0.1', '10.0.0.2', 6, [0, 80, 0, 80, ...new Array<number>(16).fill(0x13)], { frag: 185 }));
  add(0x0800, ipv4('10.0.0.1', '10.0.0.2', 17, [0, 53, 0, 53, 0, 8, 0, 0], { frag: 0x2000 | 3 }));
  add(0x0800, ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1234, 80, 0x12), { ihl: 6 }));
  add(0x0800, ipv4('10.0.0.1', '10.0.0.2', 6, tcp(80, 1234, 0x11), { ihl: 15 }));
  add(0x0800, ipv4('10.0.0.1', '224.0.0.251', 17, udp(5353, 5353)), MCAST);
  add(0x0800, ipv4('10.0.0.1', '255.255.255.255', 17, udp(68, 67)), BCAST);
  add(0x0800, ipv4('10.0.0.1', '10.0.0.255', 17, udp(137, 137)), BCAST);
  add(0x0800, ipv4('10.0.0.1', '224.0.0.1', 2, [0x11, 0x64, 0, 0, 0, 0, 0, 0]), MCAST);
  add(0x0800, ipv4('10.0.0.1', '224.0.0.13', 103, [0x20, 0, 0, 0]), MCAST);
  add(0x0800, ipv4('10.0.0.1', '224.0.0.18', 112, [0x21, 1, 100, 1, 0, 1, 0, 0, 10, 0, 0, 9]), MCAST);
  add(0x0800, ipv4('10.0.0.1', '10.0.0.2', 50, [0, 0, 1, 0, 0, 0, 0, 1, 9, 9]));
  add(0x0800, ipv4('10.0.0.1', '10.0.0.2', 51, [6, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, ...tcp(5, 80, 2)]));
  add(0x0800, ipv4('10.0.0.1', '10.0.0.2', 47, [0, 0, 8, 0]));
  add(0x0800, ipv4('10.0.0.1', '10.0.0.2', 9, [1, 2, 3, 4]));
  // IPv6
  const a6 = '2001:db8::1';
  const b6 = '2001:db8::2';
  add(0x86dd, ipv6(a6, b6, 6, tcp(50000, 80, 0x02)));
  add(0x86dd, ipv6(b6, a6, 6, tcp(80, 50000, 0x12)));
  add(0x86dd, ipv6(a6, '2001:db8:1::53', 17, udp(50001, 53)));
  add(0x86dd, ipv6('fe80::1', 'ff02::1', 58, icmp(134)), [0x33, 0x33, 0, 0, 0, 1]);
  add(0x86dd, ipv6('fe80::1', 'ff02::1:ff00:2', 58, icmp(135)), [0x33, 0x33, 0xff, 0, 0, 2]);
  add(0x86dd, ipv6(a6, b6, 58, icmp(128)));
  add(0x86dd, ipv6(b6, a6, 58, icmp(129)));
  add(0x86dd, ipv6('::1', '::1', 6, tcp(1, 2, 0x04)));
  add(0x86dd, ipv6(a6, b6, 44, [6, 0, 0, 1, 0, 0, 0, 7, ...tcp(50000, 80, 0x02)]));
  add(0x86dd, ipv6(a6, b6, 44, [17, 0, 0, 8, 0, 0, 0, 7, 0, 53, 0, 53]));
  add(0x86dd, ipv6(a6, b6, 0, [17, 0, 1, 4, 0, 0, 0, 0, ...udp(53, 53)]));
  add(0x86dd, ipv6(a6, b6, 132, udp(80, 80)));
  add(0x86dd, ipv6(a6, b6, 103, [0x20, 0, 0, 0]));
  add(0x86dd, ipv6('fe80::2', 'ff02::16', 0, [58, 0, 5, 2, 0, 0, 1, 0, 143, 0, 0, 0]), [0x33, 0x33, 0, 0, 0, 0x16]);
  // Header chains for protochain: hop-by-hop → destination options → routing → TCP; AH → UDP; no next header;
  // a fragment header after options; IPv4 AH → UDP; a chain cut short by the end of the packet.
  add(
    0x86dd,
    ipv6(a6, b6, 0, [
      60,
      0,
      1,
      4,
      0,
      0,
      0,
      0,
      43,
      1,
      1,
      4,
      ...new Array<number>(12).fill(0),
      6,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...tcp(5, 443, 0x10),
    ]),
  );
  add(0x86dd, ipv6(a6, b6, 51, [17, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 9, 0, 0, 0, 0, ...udp(53, 53)]));
  add(0x86dd, ipv6(a6, b6, 60, [59, 0, 1, 4, 0, 0, 0, 0]));
  add(0x86dd, ipv6(a6, b6, 60, [44, 0, 1, 4, 0, 0, 0, 0, 58, 0, 0, 1, 0, 0, 0, 7, ...icmp(128)]));
  add(0x86dd, ipv6(a6, b6, 43, [0, 2, 0, 0]));
  add(0x0800, ipv4('10.0.0.1', '10.0.0.2', 51, [17, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, ...udp(53, 53)]));
  // VLAN, QinQ, MPLS, PPPoE
  const v4tcp = ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1234, 80, 0x18));
  const v6udp = ipv6(a6, b6, 17, udp(53, 53));
  out.push({ data: eth(MAC_B, MAC_A, 0x8100, [...be16(10), ...be16(0x0800), ...v4tcp]) });
  out.push({ data: eth(MAC_B, MAC_A, 0x8100, [...be16(0x2000 | 20), ...be16(0x86dd), ...v6udp]) });
  out.push({
    data: eth(MAC_B, MAC_A, 0x88a8, [...be16(100), ...be16(0x8100), ...be16(10), ...be16(0x0800), ...v4tcp]),
  });
  out.push({ data: eth(MAC_B, MAC_A, 0x9100, [...be16(5), ...be16(0x0806), ...arp(1, '10.0.0.1', '10.0.0.2')]) });
  out.push({
    data: eth(MAC_B, MAC_A, 0x8100, [...be16(4095), ...be16(0x8847), ...be32((7 << 12) | 0x100 | 64), ...v4tcp]),
  });
  out.push({ data: eth(MAC_B, MAC_A, 0x8847, [...be32((5 << 12) | 0x100 | 64), ...v4tcp]) });
  out.push({ data: eth(MAC_B, MAC_A, 0x8847, [...be32((1 << 12) | 64), ...be32((2 << 12) | 0x100 | 64), ...v6udp]) });
  out.push({
    data: eth(MAC_B, MAC_A, 0x8847, [
      ...be32((16 << 12) | 64),
      ...be32((17 << 12) | 64),
      ...be32((18 << 12) | 0x100),
      ...v4tcp,
    ]),
  });
  out.push({ data: eth(BCAST, MAC_A, 0x8863, [0x11, 0x09, 0, 0, 0, 4, 1, 1, 0, 0]) });
  out.push({ data: eth(MAC_B, MAC_A, 0x8864, [0x11, 0, 0, 5, ...be16(v4tcp.length + 2), 0, 0x21, ...v4tcp]) });
  out.push({ data: eth(MAC_B, MAC_A, 0x8864, [0x11, 0, 0x12, 0x34, ...be16(v6udp.length + 2), 0, 0x57, ...v6udp]) });
  // 802.3 / LLC: STP, ISO, NetBEUI, SNAP
  out.push({
    data: [
      ...[0x01, 0x80, 0xc2, 0, 0, 0],
      ...MAC_A,
      ...be16(38),
      0x42,
      0x42,
      3,
      0,
      0,
      0,
      0,
      ...new Array<number>(31).fill(0),
    ],
  });
  out.push({
    data: [
      ...[0x09, 0, 0x2b, 0, 0, 5],
      ...MAC_A,
      ...be16(30),
      0xfe,
      0xfe,
      3,
      0x81,
      0x1b,
      1,
      ...new Array<number>(24).fill(0),
    ],
  });
  out.push({
    data: [...[0x03, 0, 0, 0, 0, 1], ...MAC_A, ...be16(20), 0xf0, 0xf0, 3, 0, ...new Array<number>(16).fill(0)],
  });
  out.push({ data: [...MAC_B, ...MAC_A, ...be16(46), 0xaa, 0xaa, 3, 0, 0, 0, 0x08, 0x00, ...v4tcp.slice(0, 38)] });
  // Other ethertypes, runts and truncated frames
  out.push({ data: eth(MAC_B, MAC_A, 0x6003, [1, 2, 3, 4]) });
  out.push({ data: eth(MAC_B, MAC_A, 0x88cc, [2, 7, 4]) });
  out.push({ data: eth(MAC_B, MAC_A, 0x0800, v4tcp).slice(0, 40), wireLen: 14 + v4tcp.length });
  out.push({ data: eth(MAC_B, MAC_A, 0x0800, v4tcp).slice(0, 24), wireLen: 14 + v4tcp.length });
  out.push({ data: eth(MAC_B, MAC_A, 0x86dd, v6udp).slice(0, 50), wireLen: 14 + v6udp.length });
  out.push({ data: [0xff] });
  out.push({ data: [...MAC_B, ...MAC_A, 0x08] });
  out.push({ data: eth(MAC_B, MAC_A, 0x0800, []) });
  return out;
}

/** The same traffic re-framed for another link type (IP and ARP frames only, where the type can carry them). */
export function reframe(frames: TestFrame[], link: string): number[][] {
  const out: number[][] = [];
  for (const f of frames) {
    if (!f.l3) continue;
    const { type, bytes } = f.l3;
    const af = type === 0x0800 ? 2 : type === 0x86dd ? 10 : 0;
    switch (link) {
      case 'RAW':
        if (af) out.push(bytes);
        break;
      case 'LINUX_SLL':
        out.push([0, out.length % 5, 0, 1, 0, 6, ...MAC_A, 0, 0, ...be16(type), ...bytes]);
        break;
      case 'LINUX_SLL2':
        out.push([...be16(type), 0, 0, ...be32(out.length % 4), 0, 1, out.length % 5, 6, ...MAC_A, 0, 0, ...bytes]);
        break;
      case 'NULL': // IPv6 as macOS writes it (AF_INET6 = 30), in host (little-endian) order
        if (af) out.push([af === 10 ? 30 : af, 0, 0, 0, ...bytes]);
        break;
      case 'LOOP': // IPv6 as OpenBSD writes it (AF_INET6 = 24), in network order
        if (af) out.push([0, 0, 0, af === 10 ? 24 : af, ...bytes]);
        break;
      case 'PFLOG': {
        // struct pfloghdr: length 61 (padded to 64), af, action, reason, ifname[16], ruleset[16], rulenr,
        // subrulenr, uid, pid, rule uid, rule pid, dir, pad[3]; fields varied per packet for the pf primitives.
        if (!af) break;
        const i = out.length;
        const name = (s: string): number[] => [...Buffer.from(s.padEnd(16, '\0'))];
        const hdr = [61, af, i % 4, i % 6, ...name(i % 3 ? 'pflog0' : 'em1'), ...name(i % 2 ? '' : 'main')];
        out.push([
          ...hdr,
          ...be32(i % 7),
          ...be32(i % 3),
          ...new Array<number>(16).fill(0),
          1 + (i % 2),
          0,
          0,
          0,
          ...bytes,
        ]);
        break;
      }
      case 'PPP':
        out.push([0xff, 0x03, ...be16(type === 0x0800 ? 0x21 : type === 0x86dd ? 0x57 : type), ...bytes]);
        break;
      case 'C_HDLC': // unicast or broadcast address, control 0, Ethernet type
        out.push([out.length % 2 ? 0x8f : 0x0f, 0, ...be16(type), ...bytes]);
        break;
      case 'SLIP': // BSD's pseudo-header: direction (in 0, out 1), then 15 bytes of compressed-header state
        if (af) out.push([out.length % 2, ...new Array<number>(15).fill(0x45), ...bytes]);
        break;
      case 'FRELAY': // Q.922 address, UI control 0x03, NLPID (IP 0xcc, IPv6 0x8e)
        if (af) out.push([0x18, 0x41, 0x03, af === 2 ? 0xcc : 0x8e, ...bytes]);
        break;
      case 'IPNET': // version 1, family (2 or 26), direction (outbound 1, inbound 2), zone, ifindexes: 24 bytes
        if (af)
          out.push([1, af === 2 ? 2 : 26, ...be16(1 + (out.length % 2)), ...new Array<number>(20).fill(0), ...bytes]);
        break;
      case 'ATM_RFC1483': // LLC/SNAP with the Ethernet type
        out.push([0xaa, 0xaa, 0x03, 0, 0, 0, ...be16(type), ...bytes]);
        break;
      case 'ARCNET_LINUX': {
        // source, destination (0 broadcast), offset, protocol ID (IP new or old, ARP, RARP, IPv6), split, sequence
        const i = out.length;
        const ids: Record<number, number> = { 0x0800: i % 2 ? 0xf0 : 0xd4, 0x86dd: 0xc4, 0x0806: i % 2 ? 0xf1 : 0xd5 };
        const id = ids[type] ?? (type === 0x8035 ? 0xd6 : 0);
        if (id) out.push([1, i % 3 ? 5 : 0, 0, 0, id, 0, 0, i & 0xff, ...bytes]);
        break;
      }
      case 'JUNIPER_ETHER':
      case 'JUNIPER_ATM1': {
        // "MGC" (spoiled on every 5th packet), flags with the direction bit, then 28 bytes to the network layer
        // on Ethernet (extension length, pad, the Ethernet header) or none on ATM1.
        const i = out.length;
        const head = [0x4d, 0x47, i % 5 === 4 ? 0x44 : 0x43, i % 2];
        const pad =
          link === 'JUNIPER_ETHER' ? [0, 0, ...new Array<number>(12).fill(0), ...MAC_A, ...MAC_A, ...be16(type)] : [];
        out.push([...head, ...pad, ...bytes]);
        break;
      }
    }
  }
  return out;
}

/** Write a pcap file; packet i gets timestamp 1000+i seconds so tcpdump's output names it. */
export function writePcap(path: string, linktype: number, packets: Array<{ data: number[]; wireLen?: number }>): void {
  const parts: Buffer[] = [];
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(262144, 16);
  hdr.writeUInt32LE(linktype, 20);
  parts.push(hdr);
  packets.forEach((p, i) => {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1000 + i, 0);
    rec.writeUInt32LE(0, 4);
    rec.writeUInt32LE(p.data.length, 8);
    rec.writeUInt32LE(p.wireLen ?? p.data.length, 12);
    parts.push(rec, Buffer.from(p.data));
  });
  writeFileSync(path, Buffer.concat(parts));
}

/**
 * 802.11 frames for the wlan primitives: every frame-control byte (all types and subtypes, with flags),
 * each DS direction, a few first addresses, and runts. For IEEE802_11_RADIO each gets a radiotap header
 * of one of several lengths (8, 12, 36 bytes), so the loads relative to its length are exercised.
 */
export function wlanFrames(radiotap: boolean): number[][] {
  const addrs = [
    [0x00, 0x11, 0x22, 0x33, 0x44, 0x55],
    [0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    [0x00, 0x11, 0x22, 0x33, 0x44, 0x56],
  ];
  const out: number[][] = [];
  for (let fc = 0; fc < 256; fc++) {
    const i = out.length;
    const fc1 = (i * 7) & 0xff; // every DS direction, various flags
    const frame = [fc, fc1, 0x3a, 0x01, ...addrs[i % 3]!, ...MAC_A, ...addrs[(i + 1) % 3]!, 0x10, 0x00];
    out.push(frame);
  }
  out.push([0x80], [0x80, 0x01], [0x08, 0x02, 0, 0, 0x00, 0x11, 0x22]);
  if (!radiotap) return out;
  return out.map((f, i) => {
    const len = [8, 12, 36][i % 3]!;
    const hdr = new Array<number>(len).fill(0);
    hdr[2] = len & 0xff;
    hdr[3] = len >> 8;
    return [...hdr, ...f];
  });
}
