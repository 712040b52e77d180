/**
 * More synthetic frames for the verdict test, for the families frames.ts lacks: Novell IPX in its four
 * Ethernet framings, AppleTalk and AARP (Ethernet II and SNAP), DECnet in its four routing-header forms,
 * OSI (IS-IS of every PDU type, ES-IS, CLNP); Geneve tunnels (IPv4 and IPv6 outside, options of several
 * lengths, Ethernet or IP inside, other versions and ports); 802.11 data frames carrying LLC/SNAP (every
 * DS direction, QoS, protected, radiotap with and without the Atheros padding flag).
 */
const MAC_A = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
const MAC_B = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
const MAC_C = [0x00, 0x11, 0x22, 0x33, 0x44, 0x56];
const BCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

const be16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
const ip4 = (s: string): number[] => s.split('.').map(Number);
const eth = (dst: number[], src: number[], type: number, body: number[]): number[] => [
  ...dst,
  ...src,
  ...be16(type),
  ...body,
];
/** An 802.3 frame (length instead of a type) with `llc` as its payload. */
const dot3 = (dst: number[], llc: number[]): number[] => [...dst, ...MAC_A, ...be16(llc.length), ...llc];
const snap = (oui: number, type: number): number[] => [
  0xaa,
  0xaa,
  0x03,
  oui >> 16,
  (oui >> 8) & 0xff,
  oui & 0xff,
  ...be16(type),
];

function ipv4(src: string, dst: string, proto: number, payload: number[], ihl = 5): number[] {
  const hdr = [0x40 | ihl, 0, ...be16(ihl * 4 + payload.length), 0, 1, 0, 0, 64, proto, 0, 0, ...ip4(src), ...ip4(dst)];
  while (hdr.length < ihl * 4) hdr.push(1);
  return [...hdr, ...payload];
}
function ipv6(next: number, payload: number[]): number[] {
  const a = [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1];
  const b = [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 2];
  return [0x60, 0, 0, 0, ...be16(payload.length), next, 64, ...a, ...b, ...payload];
}
const udp = (sp: number, dp: number, body: number[]): number[] => [
  ...be16(sp),
  ...be16(dp),
  ...be16(8 + body.length),
  0,
  0,
  ...body,
];
const tcp = (sp: number, dp: number, flags: number): number[] => [
  ...be16(sp),
  ...be16(dp),
  0,
  0,
  0,
  1,
  0,
  0,
  0,
  0,
  0x50,
  flags,
  0xff,
  0xff,
  0,
  0,
  0,
  0,
];
const icmp = (type: number): number[] => [type, 0, 0, 0, 0, 1, 0, 1];
const arp = (spa: string, tpa: string): number[] => [
  0,
  1,
  8,
  0,
  6,
  4,
  0,
  1,
  ...MAC_A,
  ...ip4(spa),
  ...MAC_B,
  ...ip4(tpa),
];

/** IPX, AppleTalk, AARP, DECnet and OSI frames. */
export function legacyFrames(): Array<{ data: number[] }> {
  const out: number[][] = [];
  const ipx = [0xff, 0xff, 0, 30, 0, 4, ...new Array<number>(24).fill(0)];
  out.push(eth(MAC_B, MAC_A, 0x8137, ipx));
  out.push(dot3(BCAST, ipx)); // Novell raw 802.3
  out.push(dot3(BCAST, [0xe0, 0xe0, 0x03, ...ipx]));
  out.push(dot3(BCAST, [...snap(0, 0x8137), ...ipx]));
  out.push(dot3(BCAST, [...snap(0x080007, 0x8137), ...ipx])); // wrong OUI for IPX
  const ddp = [0, 13, 0, 0, 0, 0, 0, 1, 0, 2, 4, 4, 1, 1, 2];
  out.push(eth(MAC_B, MAC_A, 0x809b, ddp));
  out.push(dot3(BCAST, [...snap(0x080007, 0x809b), ...ddp]));
  out.push(dot3(BCAST, [...snap(0, 0x809b), ...ddp])); // AppleTalk type under the wrong OUI
  const aarp = [0, 1, 0x80, 0x9b, 6, 4, 0, 1, ...MAC_A, 0, 0, 1, 2, ...MAC_B, 0, 0, 1, 3];
  out.push(eth(BCAST, MAC_A, 0x80f3, aarp));
  out.push(dot3(BCAST, [...snap(0, 0x80f3), ...aarp]));
  // DECnet: after a 2-byte length, the flags (0x02 short, 0x06 long), after a 0x81 pad byte or not;
  // addresses little-endian (area << 10 | node): 1.2 and 3.4.
  const a12 = [0x02, 0x04];
  const a34 = [0x04, 0x0c];
  const pad = [0x81];
  out.push(eth(MAC_B, MAC_A, 0x6003, [20, 0, 0x02, ...a12, ...a34, 0, ...new Array<number>(12).fill(0)]));
  out.push(eth(MAC_B, MAC_A, 0x6003, [20, 0, ...pad, 0x02, ...a34, ...a12, 0, ...new Array<number>(12).fill(0)]));
  const long = (dst: number[], src: number[]): number[] => [
    0x06,
    0,
    0,
    0xaa,
    0,
    4,
    0,
    ...dst,
    0,
    0,
    0xaa,
    0,
    4,
    0,
    ...src,
    0,
    0,
    0,
    0,
  ];
  out.push(eth(MAC_B, MAC_A, 0x6003, [30, 0, ...long(a12, a34)]));
  out.push(eth(MAC_B, MAC_A, 0x6003, [30, 0, ...pad, ...long(a34, a12)]));
  out.push(eth(MAC_B, MAC_A, 0x6003, [30, 0, 0x07, ...a12, ...a12, ...new Array<number>(20).fill(0)]));
  // OSI: IS-IS of each PDU type, ES-IS, CLNP (NLPID after the LLC header fe fe 03).
  for (const pdu of [15, 16, 17, 18, 20, 24, 25, 26, 27, 3])
    out.push(
      dot3(
        [0x01, 0x80, 0xc2, 0, 0, 0x14],
        [0xfe, 0xfe, 0x03, 0x83, 27, 1, 0, pdu, 1, 0, 0, ...new Array<number>(16).fill(0)],
      ),
    );
  out.push(
    dot3([0x09, 0, 0x2b, 0, 0, 4], [0xfe, 0xfe, 0x03, 0x82, 12, 1, 0, 2, 0, 0, 0, ...new Array<number>(16).fill(0)]),
  );
  out.push(dot3([0x09, 0, 0x2b, 0, 0, 4], [0xfe, 0xfe, 0x03, 0x81, 20, 1, 30, 0x1c, ...new Array<number>(20).fill(0)]));
  return out.map((data) => ({ data }));
}

/** A Geneve header: version, options of `optWords` 4-byte words, protocol type, VNI. */
function geneveHdr(version: number, optWords: number, proto: number, vni: number): number[] {
  const opts = new Array<number>(optWords * 4).fill(0x5a);
  return [(version << 6) | optWords, 0, ...be16(proto), (vni >> 16) & 0xff, (vni >> 8) & 0xff, vni & 0xff, 0, ...opts];
}

/** Geneve tunnels over IPv4 and IPv6. */
export function geneveFrames(): Array<{ data: number[] }> {
  const out: number[][] = [];
  const innerTcp = ipv4('192.168.0.1', '192.168.0.2', 6, tcp(1234, 80, 0x02));
  const innerEth = eth(MAC_C, MAC_B, 0x0800, innerTcp);
  const innerArp = eth(BCAST, MAC_C, 0x0806, arp('192.168.0.1', '192.168.0.9'));
  const innerV6 = eth([0x33, 0x33, 0, 0, 0, 1], MAC_C, 0x86dd, ipv6(17, udp(53, 53, [1, 2, 3, 4])));
  const over4 = (g: number[], port = 6081, ihl = 5): number[] =>
    eth(MAC_B, MAC_A, 0x0800, ipv4('10.0.0.1', '10.0.0.2', 17, udp(40000, port, g), ihl));
  const over6 = (g: number[]): number[] => eth(MAC_B, MAC_A, 0x86dd, ipv6(17, udp(40000, 6081, g)));
  for (const opt of [0, 1, 3]) {
    out.push(over4([...geneveHdr(0, opt, 0x6558, 5), ...innerEth]));
    out.push(over4([...geneveHdr(0, opt, 0x0800, 7), ...innerTcp]));
  }
  out.push(over4([...geneveHdr(0, 0, 0x6558, 5), ...innerEth], 6081, 6));
  out.push(over4([...geneveHdr(0, 2, 0x6558, 7), ...innerArp]));
  out.push(over4([...geneveHdr(0, 1, 0x6558, 5), ...eth(MAC_C, MAC_B, 0x8100, [0, 10, 0x08, 0x00, ...innerTcp])]));
  out.push(over4([...geneveHdr(0, 0, 0x6558, 0xffffff), ...innerV6]));
  out.push(over4([...geneveHdr(1, 0, 0x6558, 5), ...innerEth])); // version 1
  out.push(over4([...geneveHdr(0, 0, 0x6558, 5), ...innerEth], 6082)); // another port
  out.push(over4([...geneveHdr(0, 0, 0x86dd, 5), ...ipv6(6, tcp(1, 80, 0x10))]));
  out.push(over6([...geneveHdr(0, 0, 0x6558, 5), ...innerEth]));
  out.push(over6([...geneveHdr(0, 1, 0x0800, 5), ...innerTcp]));
  out.push(over4([...geneveHdr(0, 0, 0x6558, 5), ...innerEth.slice(0, 20)])); // truncated inside
  out.push(over4(geneveHdr(0, 9, 0x6558, 5).slice(0, 12))); // options past the end
  return out.map((data) => ({ data }));
}

/**
 * 802.11 data frames with LLC/SNAP payloads: IPv4 TCP/UDP/ICMP, IPv6, ARP, in every DS direction, QoS
 * and not, protected and not, plus a beacon and a control frame carrying the same bytes. For radiotap,
 * headers with the flags field (with and without TSFT before it, DATAPAD set or not) and an extended one.
 */
export function wlanDataFrames(radiotap: boolean): number[][] {
  const payloads = [
    [...snap(0, 0x0800), ...ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1234, 80, 0x02))],
    [...snap(0, 0x0800), ...ipv4('10.0.0.2', '10.0.0.1', 17, udp(53, 40000, [1, 2, 3, 4]))],
    [...snap(0, 0x0800), ...ipv4('10.0.0.3', '10.0.0.1', 1, icmp(8))],
    [...snap(0, 0x86dd), ...ipv6(6, tcp(80, 50000, 0x12))],
    [...snap(0, 0x0806), ...arp('10.0.0.1', '10.0.0.2')],
    [0xfe, 0xfe, 0x03, 0x83, 27, 1, 0, 18, 1, 0, 0, 0, 0, 0, 0, 0],
    [0x42, 0x42, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  ];
  const out: number[][] = [];
  const addrs = [MAC_A, BCAST, MAC_B, MAC_C];
  let n = 0;
  for (const fc0 of [0x08, 0x88, 0x80, 0xc4, 0x48]) {
    for (let dir = 0; dir < 4; dir++) {
      for (const p of payloads) {
        n++;
        const fc1 = dir | (n % 5 === 0 ? 0x40 : 0);
        const a = (i: number): number[] => addrs[(n + i) % 4]!;
        const hdr = [fc0, fc1, 0, 0, ...a(0), ...a(1), ...a(2), 0x10, 0];
        if (dir === 3) hdr.push(...a(3));
        if (fc0 === 0x88) hdr.push(n % 3 === 0 ? 0x07 : 0, 0);
        out.push([...hdr, ...p]);
      }
    }
  }
  if (!radiotap) return out;
  return out.map((f, i) => {
    switch (i % 5) {
      case 0: // flags present, no TSFT, DATAPAD set: the 802.11 header is padded to 4
        return [0, 0, 9, 0, 0x02, 0, 0, 0, 0x20, ...pad4(f)];
      case 1: // TSFT and flags, DATAPAD clear
        return [0, 0, 17, 0, 0x03, 0, 0, 0, ...new Array<number>(8).fill(1), 0x10, ...f];
      case 2: // TSFT and flags, DATAPAD set
        return [0, 0, 17, 0, 0x03, 0, 0, 0, ...new Array<number>(8).fill(1), 0x20, ...pad4(f)];
      case 3: // an extended presence bitmap: libpcap does not look for the flags
        return [0, 0, 16, 0, 0x02, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x20, ...f];
      default:
        return [0, 0, 8, 0, 0, 0, 0, 0, ...f];
    }
  });
}

/** With DATAPAD the driver pads the 802.11 header (24, or 26 with QoS) to a multiple of 4 bytes. */
function pad4(frame: number[]): number[] {
  const hdrLen = frame[0] === 0x88 ? 26 : 24;
  const padded = (hdrLen + 3) & ~3;
  return [...frame.slice(0, hdrLen), ...new Array<number>(padded - hdrLen).fill(0), ...frame.slice(hdrLen)];
}
