import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createCaptureWriter } from '../../src/packet/capture-writer.js';
import { PacketView } from '../../src/packet/decode/packet-view.js';
import { IPPROTO, TCP_FLAG } from '../../src/packet/decode/constants.js';
import { formatIPv6 } from '../../src/packet/decode/format.js';
import { LINKTYPE } from '../../src/packet/linktype.js';
import { needs } from '../support/env.js';
import { FIXTURES, fixture, prng, readAll, tempDir, tsharkFields } from './helpers.js';

const FIELDS = [
  'ip.src',
  'ipv6.src',
  'ip.dst',
  'ipv6.dst',
  'tcp.srcport',
  'tcp.dstport',
  'udp.srcport',
  'udp.dstport',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.flags',
  'tcp.hdr_len',
  'tcp.len',
  'udp.length',
  'icmp.type',
  'icmpv6.type',
  'ip.flags.mf',
  'ip.frag_offset',
  'ipv6.fraghdr.offset',
  'ipv6.fraghdr.more',
  'ip.hdr_len',
  'ip.ttl',
  'ipv6.hlim',
  'vlan.id',
  'arp.opcode',
  'arp.src.proto_ipv4',
];
const NO_REASSEMBLY = [
  '-o',
  'ip.defragment:FALSE',
  '-o',
  'ipv6.defragment:FALSE',
  '-o',
  'tcp.desegment_tcp_streams:FALSE',
];

/** The same row tshark gives, built from a PacketView (empty where tshark shows nothing). */
function row(v: PacketView): string[] {
  const s = (n: number) => (n < 0 ? '' : String(n));
  const v4 = v.ipVersion === 4;
  const v6 = v.ipVersion === 6;
  const tcp = v.proto === IPPROTO.TCP && v.l4Offset >= 0 && v.fragmentOffset === 0;
  const udp = v.proto === IPPROTO.UDP && v.l4Offset >= 0 && v.fragmentOffset === 0;
  const hasFragHdr = v6 && v.ipId >= 0;
  return [
    v4 ? v.srcAddr() : '',
    v6 ? v.srcAddr() : '',
    v4 ? v.dstAddr() : '',
    v6 ? v.dstAddr() : '',
    tcp ? s(v.srcPort) : '',
    tcp ? s(v.dstPort) : '',
    udp ? s(v.srcPort) : '',
    udp ? s(v.dstPort) : '',
    tcp ? String(v.tcpSeq) : '',
    tcp ? String(v.tcpAck) : '',
    tcp ? `0x${v.tcpFlags.toString(16).padStart(4, '0')}` : '',
    tcp ? String(v.tcpHeaderLength) : '',
    // tshark gives no TCP length for a first fragment (the segment continues in the next ones)
    tcp && !v.isFragment ? String(v.payloadLength) : '',
    udp ? String(v.udpLength) : '',
    v.proto === IPPROTO.ICMP ? s(v.icmpType) : '',
    v.proto === IPPROTO.ICMPV6 ? s(v.icmpType) : '',
    v4 ? (v.moreFragments ? '1' : '0') : '',
    v4 ? String(v.fragmentOffset / 8) : '',
    hasFragHdr ? String(v.fragmentOffset / 8) : '',
    hasFragHdr ? (v.moreFragments ? '1' : '0') : '',
    v4 ? String(v.ipHeaderLength) : '',
    v4 ? String(v.ttl) : '',
    v6 ? String(v.ttl) : '',
    // tshark's vlan.id is the first 802.1Q/0x9100 tag: after an 802.1ad outer tag that is the inner one
    v.vlanCount === 1 ? String(v.vlanOuter) : v.vlanCount === 2 ? String(v.vlanInner) : '',
    v.arpOp >= 0 ? String(v.arpOp) : '',
    v.arpOp >= 0
      ? `${v.bytes[v.arpSenderIpOffset]}.${v.bytes[v.arpSenderIpOffset + 1]}.${v.bytes[v.arpSenderIpOffset + 2]}.${v.bytes[v.arpSenderIpOffset + 3]}`
      : '',
  ];
}

async function compareWithTshark(file: string): Promise<number> {
  const packets = await readAll(file);
  const want = tsharkFields(file, FIELDS, NO_REASSEMBLY);
  assert.equal(packets.length, want.length);
  const v = new PacketView();
  for (let i = 0; i < packets.length; i++) {
    const p = packets[i]!;
    v.decode(p.data, p.linktype);
    // tshark's tcp.flags is 12 bits (incl. NS): compare the low byte we keep
    const expected = want[i]!.map((x, k) =>
      k === 10 && x ? `0x${(Number(x) & 0xff).toString(16).padStart(4, '0')}` : x,
    );
    while (expected.length < FIELDS.length) expected.push('');
    // ICMP errors quote the offending datagram; tshark dissects the quoted TCP/UDP header, we do not
    if (v.proto === IPPROTO.ICMP || v.proto === IPPROTO.ICMPV6) for (let k = 4; k <= 13; k++) expected[k] = '';
    assert.deepEqual(row(v), expected, `${file} frame ${i + 1}`);
    assert.equal(v.truncated || v.malformed, false, `frame ${i + 1}`);
  }
  return packets.length;
}

test('decoders agree with tshark on the real captures (Ethernet, SLL, SLL2; TCP/UDP/ICMP/fragments, IPv4+IPv6)', async (t) => {
  if (!needs(t, { tools: ['tshark'] })) return;
  for (const name of FIXTURES) assert.ok((await compareWithTshark(fixture(name))) > 50);
});

// ---- synthesized packets for what loopback traffic does not show
function ipv4(
  proto: number,
  payload: number[],
  opts: { options?: number[]; frag?: number; mf?: boolean; id?: number } = {},
): number[] {
  const options = opts.options ?? [];
  const ihl = 20 + options.length;
  const total = ihl + payload.length;
  const fragWord = ((opts.frag ?? 0) >> 3) | (opts.mf ? 0x2000 : 0);
  return [
    0x40 | (ihl >> 2),
    0,
    total >> 8,
    total & 255,
    0,
    opts.id ?? 7,
    fragWord >> 8,
    fragWord & 255,
    64,
    proto,
    0,
    0,
    10,
    1,
    2,
    3,
    10,
    4,
    5,
    6,
    ...options,
    ...payload,
  ];
}
function ipv6(next: number, payload: number[]): number[] {
  const src = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const dst = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
  return [0x60, 0, 0, 0, payload.length >> 8, payload.length & 255, next, 33, ...src, ...dst, ...payload];
}
function tcp(sport: number, dport: number, flags: number, data: number[], options: number[] = []): number[] {
  const hlen = 20 + options.length;
  return [
    sport >> 8,
    sport & 255,
    dport >> 8,
    dport & 255,
    0x12,
    0x34,
    0x56,
    0x78,
    0x9a,
    0xbc,
    0xde,
    0xf0,
    (hlen / 4) << 4,
    flags,
    0xff,
    0xff,
    0,
    0,
    0,
    0,
    ...options,
    ...data,
  ];
}
function udp(sport: number, dport: number, data: number[]): number[] {
  const len = 8 + data.length;
  return [sport >> 8, sport & 255, dport >> 8, dport & 255, len >> 8, len & 255, 0, 0, ...data];
}
const MACS = [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
const eth = (type: number, rest: number[]) => [...MACS, type >> 8, type & 255, ...rest];
const vlan = (tpid: number, vid: number, inner: number, rest: number[]) =>
  [tpid >> 8, tpid & 255, vid >> 8, vid & 255, inner >> 8, inner & 255, ...rest].slice(0);
const http = [...Buffer.from('GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n')];
const ext = (next: number, lenUnits: number, fill = 0) => [next, lenUnits, ...new Array(6 + lenUnits * 8).fill(fill)];

const SYNTH: Array<[string, number[]]> = [
  [
    'tcp over 802.1Q',
    [...MACS, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00, ...ipv4(6, tcp(1234, 80, TCP_FLAG.PSH | TCP_FLAG.ACK, http))],
  ],
  [
    'QinQ 88a8 + 8100',
    [...MACS, ...vlan(0x88a8, 200, 0x8100, [0x00, 0x0a, 0x86, 0xdd, ...ipv6(17, udp(5353, 53, [1, 2, 3]))])],
  ],
  ['old QinQ 9100', [...MACS, ...vlan(0x9100, 0x0fff, 0x0800, ipv4(17, udp(1, 2, [9])))]],
  [
    'IPv4 options (record route) + TCP options',
    eth(
      0x0800,
      ipv4(6, tcp(40000, 443, TCP_FLAG.SYN, [], [2, 4, 5, 0xb4, 1, 3, 3, 7]), { options: [7, 7, 4, 0, 0, 0, 0, 1] }),
    ),
  ],
  ['IPv4 first fragment', eth(0x0800, ipv4(17, udp(7, 9, new Array(40).fill(1)), { mf: true }))],
  ['IPv4 later fragment', eth(0x0800, ipv4(17, new Array(24).fill(2), { frag: 1480 }))],
  [
    'IPv6 hop-by-hop, routing, dest opts, TCP',
    eth(
      0x86dd,
      ipv6(0, [...ext(43, 0), ...[60, 0, 0, 0, 0, 0, 0, 0], ...ext(6, 1), ...tcp(5000, 8080, TCP_FLAG.ACK, http)]),
    ),
  ],
  [
    'IPv6 AH then UDP',
    eth(0x86dd, ipv6(51, [17, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, ...new Array(12).fill(0), ...udp(500, 500, [1, 2])])),
  ],
  [
    'IPv6 fragment header, first fragment',
    eth(0x86dd, ipv6(44, [17, 0, 0, 1, 0, 0, 0, 42, ...udp(1000, 2000, new Array(16).fill(3))])),
  ],
  [
    'IPv6 fragment header, later fragment',
    eth(0x86dd, ipv6(44, [17, 0, 0x05, 0xa8, 0, 0, 0, 42, ...new Array(16).fill(3)])),
  ],
  ['IPv6 ESP stops the chain', eth(0x86dd, ipv6(50, [0, 0, 1, 0, 0, 0, 0, 1, 1, 2, 3, 4]))],
  ['ICMP echo', eth(0x0800, ipv4(1, [8, 0, 0, 0, 0, 1, 0, 1, 0x61, 0x62]))],
  ['ICMPv6 echo', eth(0x86dd, ipv6(58, [128, 0, 0, 0, 0, 1, 0, 1]))],
  ['ARP request', eth(0x0806, [0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2])],
  [
    'Ethernet padding after a short IPv4 packet',
    eth(0x0800, [...ipv4(6, tcp(1, 2, TCP_FLAG.ACK, [])), 0, 0, 0, 0, 0, 0]),
  ],
];

test('decoders agree with tshark on synthesized VLAN/QinQ, options, fragments, IPv6 chains, ICMP, ARP', async (t) => {
  if (!needs(t, { tools: ['tshark'] })) return;
  const dir = tempDir(t);
  const file = join(dir, 'synth.pcap');
  const w = createCaptureWriter(file, { linktype: LINKTYPE.EN10MB });
  for (const [, bytes] of SYNTH) w.write({ tsSec: 1, tsNsec: 0, data: Uint8Array.from(bytes) });
  w.close();
  await compareWithTshark(file);
});

// ---- what the URL sniffer reads: u32 IPv4 addresses and the fragment data to reassemble
const FRAG_SYNTH: Array<[string, number[]]> = [
  [
    'IPv4 first TCP fragment',
    eth(0x0800, ipv4(6, tcp(1234, 80, TCP_FLAG.ACK, http).slice(0, 24), { mf: true, id: 0x42 })),
  ],
  [
    'IPv4 last TCP fragment with options',
    eth(0x0800, ipv4(6, tcp(1234, 80, TCP_FLAG.ACK, http).slice(24), { frag: 24, id: 0x42, options: [1, 1, 1, 0] })),
  ],
  [
    'IPv6 dest opts then a first fragment',
    eth(0x86dd, ipv6(60, [...ext(44, 0), 6, 0, 0, 1, 0x12, 0x34, 0x56, 0x78, ...tcp(1, 2, TCP_FLAG.ACK, http)])),
  ],
  // the bytes after a later fragment's header are data, even when its next header names an extension header
  [
    'IPv6 later fragment of a datagram with dest opts',
    eth(0x86dd, ipv6(44, [60, 0, 0, 0x10, 0, 0, 0, 9, 6, 0, ...new Array(22).fill(5)])),
  ],
];

const FRAG_FIELDS = [
  'ip.id',
  'ipv6.fraghdr.ident',
  'ip.proto',
  'ipv6.fraghdr.nxt',
  'ip.len',
  'ip.hdr_len',
  'ipv6.plen',
  'ip.src',
  'ip.dst',
];

/** Check srcIPv4/dstIPv4 and the fragment fields against tshark; returns how many fragments were seen. */
async function compareFragmentsWithTshark(file: string): Promise<number> {
  const packets = await readAll(file);
  const want = tsharkFields(file, FRAG_FIELDS, NO_REASSEMBLY);
  assert.equal(packets.length, want.length);
  const v = new PacketView();
  const dotted = (a: number) => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
  let fragments = 0;
  for (let i = 0; i < packets.length; i++) {
    const p = packets[i]!;
    const at = `${file} frame ${i + 1}`;
    const [id = '', ident = '', proto = '', nxt = '', len = '', hdrLen = '', plen = '', src = '', dst = ''] = want[i]!;
    v.decode(p.data, p.linktype);
    if (v.ipVersion === 4) {
      assert.deepEqual([dotted(v.srcIPv4), dotted(v.dstIPv4), v.ipId], [src, dst, Number(id)], at);
    } else {
      assert.deepEqual([v.srcIPv4, v.dstIPv4], [0, 0], at);
    }
    if (!v.isFragment) {
      assert.deepEqual([v.fragmentDataOffset, v.fragmentDataLength, v.fragmentProto], [-1, 0, -1], at);
      continue;
    }
    fragments++;
    if (v.ipVersion === 4) {
      assert.deepEqual(
        [v.fragmentProto, v.fragmentDataOffset, v.fragmentDataLength],
        [Number(proto), v.l3Offset + Number(hdrLen), Number(len) - Number(hdrLen)],
        at,
      );
    } else {
      // the data follows the fragment header: its next header and identification sit just before it
      const fh = v.fragmentDataOffset - 8;
      const b = v.bytes;
      const fhIdent = ((b[fh + 4]! << 24) | (b[fh + 5]! << 16) | (b[fh + 6]! << 8) | b[fh + 7]!) >>> 0;
      assert.deepEqual(
        [v.fragmentProto, b[fh], v.ipId, fhIdent, v.fragmentDataOffset + v.fragmentDataLength],
        [Number(nxt), Number(nxt), Number(ident), Number(ident), v.l3Offset + 40 + Number(plen)],
        at,
      );
    }
  }
  return fragments;
}

test('u32 IPv4 addresses and fragment data (offset, length, protocol, id) agree with tshark', async (t) => {
  if (!needs(t, { tools: ['tshark'] })) return;
  const dir = tempDir(t);
  const file = join(dir, 'frags.pcap');
  const w = createCaptureWriter(file, { linktype: LINKTYPE.EN10MB });
  for (const [, bytes] of [...SYNTH, ...FRAG_SYNTH]) w.write({ tsSec: 1, tsNsec: 0, data: Uint8Array.from(bytes) });
  w.close();
  await compareWithTshark(file);
  assert.equal(await compareFragmentsWithTshark(file), 8);
  for (const name of FIXTURES) await compareFragmentsWithTshark(fixture(name));
  // a later fragment stops the IPv6 chain at its fragment header: no walking into the data
  const v = new PacketView();
  v.decode(Uint8Array.from(FRAG_SYNTH[3]![1]), LINKTYPE.EN10MB);
  assert.deepEqual(
    [v.proto, v.ipv6ExtCount, v.ipHeaderLength, v.payloadOffset, v.payloadLength],
    [60, 1, 48, 14 + 48, 24],
  );
  v.decode(Uint8Array.from(FRAG_SYNTH[2]![1]), LINKTYPE.EN10MB);
  assert.deepEqual([v.fragmentProto, v.proto, v.srcPort, v.ipId], [6, 6, 1, 0x12345678]);
});

test('decoded details tshark does not print the same way', () => {
  const v = new PacketView();
  const get = (name: string) => Uint8Array.from(SYNTH.find(([n]) => n === name)![1]);
  v.decode(get('QinQ 88a8 + 8100'), LINKTYPE.EN10MB);
  assert.deepEqual(
    [v.vlanCount, v.vlanOuter, v.vlanInner, v.etherType, v.proto, v.srcAddr(), v.dstAddr()],
    [2, 200, 10, 0x86dd, 17, '2001:db8::1', 'fe80::2'],
  );
  v.decode(get('IPv4 options (record route) + TCP options'), LINKTYPE.EN10MB);
  assert.deepEqual(
    [v.ipOptionsLength, v.tcpMss(), v.tcpFlags & TCP_FLAG.SYN, v.tcpOptions().map((o) => o[0])],
    [8, 1460, TCP_FLAG.SYN, [2, 3]],
  );
  v.decode(get('IPv6 hop-by-hop, routing, dest opts, TCP'), LINKTYPE.EN10MB);
  assert.deepEqual(
    [v.ipv6ExtCount, v.ipHeaderLength, v.proto, v.dstPort, Buffer.from(v.payload()).toString()],
    [3, 40 + 8 + 8 + 16, 6, 8080, Buffer.from(http).toString()],
  );
  v.decode(get('IPv6 fragment header, later fragment'), LINKTYPE.EN10MB);
  assert.deepEqual([v.isFragment, v.fragmentOffset, v.ipId, v.l4Offset, v.payloadLength], [true, 1448, 42, -1, 16]);
  v.decode(get('IPv6 ESP stops the chain'), LINKTYPE.EN10MB);
  assert.deepEqual([v.proto, v.srcPort, v.payloadLength], [50, -1, 12]);
  v.decode(get('Ethernet padding after a short IPv4 packet'), LINKTYPE.EN10MB);
  assert.equal(v.payloadLength, 0);
  v.decode(get('ARP request'), LINKTYPE.EN10MB);
  assert.deepEqual([v.arpOp, v.arpTargetIpOffset, v.ipVersion], [1, 14 + 24, 0]);
  // offsets are absolute when decoding a window of a bigger buffer
  const inner = get('tcp over 802.1Q');
  const big = new Uint8Array(inner.length + 100);
  big.set(inner, 37);
  v.decode(big, LINKTYPE.EN10MB, 37, 37 + inner.length);
  assert.deepEqual([v.l3Offset, v.srcAddr(), v.dstPort, v.payloadOffset], [37 + 18, '10.1.2.3', 80, 37 + 18 + 20 + 20]);
});

test('other link types: RAW, IPV4, IPV6, NULL (both byte orders), LOOP', () => {
  const v = new PacketView();
  const pkt4 = ipv4(17, udp(53, 1053, [1]));
  const pkt6 = ipv6(6, tcp(80, 9999, TCP_FLAG.FIN, []));
  const cases: Array<[number, number[], number, number]> = [
    [LINKTYPE.RAW, pkt4, 4, 1053],
    [LINKTYPE.RAW, pkt6, 6, 9999],
    [LINKTYPE.IPV4, pkt4, 4, 1053],
    [LINKTYPE.IPV6, pkt6, 6, 9999],
    [LINKTYPE.NULL, [2, 0, 0, 0, ...pkt4], 4, 1053],
    [LINKTYPE.NULL, [0, 0, 0, 2, ...pkt4], 4, 1053],
    [LINKTYPE.NULL, [30, 0, 0, 0, ...pkt6], 6, 9999],
    [LINKTYPE.LOOP, [0, 0, 0, 24, ...pkt6], 6, 9999],
  ];
  for (const [lt, bytes, ver, dport] of cases) {
    v.decode(Uint8Array.from(bytes), lt);
    assert.deepEqual([v.ipVersion, v.dstPort, v.truncated, v.malformed], [ver, dport, false, false], `linktype ${lt}`);
  }
});

test('truncated and malformed headers are flagged, never thrown', () => {
  const v = new PacketView();
  const full = Uint8Array.from(SYNTH[0]![1]);
  for (let n = 0; n < full.length; n++) {
    v.decode(full, LINKTYPE.EN10MB, 0, n);
    if (n < 18 + 20 + 20) assert.equal(v.truncated, true, `cut at ${n}`);
    else assert.equal(v.truncated, false);
  }
  const bad = Uint8Array.from(eth(0x0800, ipv4(6, tcp(1, 2, 0, []))));
  bad[14] = 0x43; // IHL 3
  assert.equal(v.decode(bad, LINKTYPE.EN10MB).malformed, true);
  bad[14] = 0x45;
  bad[14 + 20 + 12] = 0x30; // TCP data offset 3
  assert.equal(v.decode(bad, LINKTYPE.EN10MB).malformed, true);
  // random garbage on every link type
  const rand = prng(42);
  const buf = new Uint8Array(200);
  for (let i = 0; i < 20000; i++) {
    const n = Math.floor(rand() * 200);
    for (let k = 0; k < n; k++)
      buf[k] =
        rand() < 0.3
          ? [0x08, 0x00, 0x45, 0x86, 0xdd, 0x60, 0x81, 6, 17, 0, 43, 44][Math.floor(rand() * 12)]!
          : Math.floor(rand() * 256);
    const lt = [0, 1, 101, 108, 113, 228, 229, 276][i % 8]!;
    v.decode(buf, lt, 0, n);
    assert.ok(v.payloadOffset <= n && v.payloadOffset + v.payloadLength <= n);
  }
});

test('IPv6 text form follows RFC 5952', () => {
  const a = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
  assert.equal(formatIPv6(a('00000000000000000000000000000001'), 0), '::1');
  assert.equal(formatIPv6(a('20010db8000000000001000000000001'), 0), '2001:db8::1:0:0:1');
  assert.equal(formatIPv6(a('20010db8000100000000000000000000'), 0), '2001:db8:1::');
  assert.equal(formatIPv6(a('00000000000000000000ffff7f000001'), 0), '::ffff:127.0.0.1');
  assert.equal(formatIPv6(a('20010db8000100010001000100010001'), 0), '2001:db8:1:1:1:1:1:1');
});

test('decoders agree with tshark on NULL, LOOP, RAW, IPV4 and IPV6 link types', async (t) => {
  if (!needs(t, { tools: ['tshark'] })) return;
  const dir = tempDir(t);
  const v4 = [ipv4(17, udp(53, 1053, [1, 2, 3])), ipv4(6, tcp(80, 9999, TCP_FLAG.SYN | TCP_FLAG.ACK, []))];
  const v6 = [ipv6(6, tcp(443, 50000, TCP_FLAG.ACK, http)), ipv6(58, [129, 0, 0, 0, 0, 1, 0, 1])];
  const files: Array<[number, number[][]]> = [
    [LINKTYPE.NULL, [...v4.map((p) => [2, 0, 0, 0, ...p]), ...v6.map((p) => [30, 0, 0, 0, ...p])]],
    [LINKTYPE.LOOP, [...v4.map((p) => [0, 0, 0, 2, ...p]), ...v6.map((p) => [0, 0, 0, 24, ...p])]],
    [LINKTYPE.RAW, [...v4, ...v6]],
    [LINKTYPE.IPV4, v4],
    [LINKTYPE.IPV6, v6],
  ];
  for (const [linktype, packets] of files) {
    const file = join(dir, `lt${linktype}.pcap`);
    const w = createCaptureWriter(file, { linktype });
    for (const p of packets) w.write({ tsSec: 2, tsNsec: 0, data: Uint8Array.from(p) });
    w.close();
    assert.equal(await compareWithTshark(file), packets.length, `linktype ${linktype}`);
  }
});

test('fuzz: mutated real packets decode without throwing and with offsets inside the packet', async () => {
  const rand = prng(7);
  const v = new PacketView();
  let flagged = 0;
  let runs = 0;
  for (const name of FIXTURES) {
    for (const p of await readAll(fixture(name))) {
      for (let k = 0; k < 20; k++) {
        const buf = Uint8Array.from(p.data);
        for (let m = 0; m < 1 + Math.floor(rand() * 4); m++)
          buf[Math.floor(rand() * Math.min(buf.length, 80))] = Math.floor(rand() * 256);
        const end = rand() < 0.3 ? Math.floor(rand() * buf.length) : buf.length;
        v.decode(buf, p.linktype, 0, end);
        runs++;
        if (v.truncated || v.malformed) flagged++;
        for (const o of [v.l3Offset, v.l4Offset, v.payloadOffset, v.srcAddrOffset, v.dstAddrOffset])
          assert.ok(o <= end, `offset ${o} past ${end}`);
        assert.ok(v.payloadLength >= 0 && (v.payloadOffset < 0 || v.payloadOffset + v.payloadLength <= end));
        if (v.srcAddrOffset >= 0) assert.ok(v.srcAddrOffset + v.addrLength <= end);
        v.srcAddr();
        v.tcpOptions();
      }
    }
  }
  assert.ok(runs > 5000 && flagged > 100, `runs ${runs}, flagged ${flagged}`);
});
