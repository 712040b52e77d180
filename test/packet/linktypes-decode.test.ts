/**
 * The link types and EtherTypes that carry IP behind a header bpfkit once left undecoded (SLIP, Frame
 * Relay, multilink Frame Relay, IPoIB, Solaris ipnet, Juniper Ethernet, Marvell/Broadcom switch tags,
 * MACsec without encryption, NSH): each framing is built here byte by byte around an HTTP request, and
 * the decoder must reach TCP port 80 with the request as payload — and `urls` must report it. Frames
 * that carry no IP (LLDP, RARP, CDP, PPP's control protocols, ...) are decoded as not IP, never counted
 * as undecoded; unknown EtherTypes still are.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PacketView } from '../../src/packet/decode/packet-view.js';
import { IPPROTO } from '../../src/packet/decode/constants.js';
import { LINKTYPE, linktypeName, parseLinktype } from '../../src/packet/linktype.js';
import { Conversation, tcpFrame } from '../support/tcp-frames.js';
import { writePcapFrames } from '../http/corpus/pcap-out.js';
import { runUrls } from '../http/support.js';
import { tempDir } from './helpers.js';

const REQUEST = 'GET /linktypes/ok HTTP/1.1\r\nHost: example\r\n\r\n';
const MACS = [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];

const bytes = (...parts: (ArrayLike<number> | number)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : Array.from(p))));

/** An Ethernet frame's pieces: addresses, EtherType, what follows. */
const eth = (frame: Uint8Array) => ({
  macs: frame.subarray(0, 12),
  type: frame.subarray(12, 14),
  l3: frame.subarray(14),
});

/** A framing: the link type and how it wraps an Ethernet+IP frame (`tcpFrame`'s) into its own bytes. */
interface Framing {
  linktype: number;
  wrap(frame: Uint8Array): Uint8Array;
  /** a header the decoder must list on the way */
  layer: string;
}

/** IPv4 + UDP around `payload` (documentation addresses; the checksums are not checked by the decoder). */
const udp4 = (sport: number, dport: number, payload: Uint8Array): Uint8Array => {
  const udpLen = 8 + payload.length;
  const total = 20 + udpLen;
  return bytes(
    [0x45, 0, total >> 8, total & 255, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2],
    [sport >> 8, sport & 255, dport >> 8, dport & 255, udpLen >> 8, udpLen & 255, 0, 0],
    payload,
  );
};
/** PPP's protocol field for the IP version an Ethernet frame carries. */
const pppProto = (f: Uint8Array) => (eth(f).type[0] === 0x86 ? [0x00, 0x57] : [0x00, 0x21]);

const FRAMINGS: Record<string, Framing> = {
  l2tp: {
    // L2TPv2 data message with no optional field (tunnel 1, session 2), PPP without address/control
    linktype: LINKTYPE.EN10MB,
    wrap: (f) => bytes(MACS, 0x08, 0x00, udp4(1701, 1701, bytes(0x00, 0x02, 0, 1, 0, 2, pppProto(f), eth(f).l3))),
    layer: 'L2TP',
  },
  'l2tp-length-sequence-offset': {
    // L, S and O bits: length, Ns/Nr, a 3-byte offset pad; PPP with FF 03; from the LNS's port to another
    linktype: LINKTYPE.EN10MB,
    wrap: (f) => {
      const ppp = bytes(0xff, 0x03, pppProto(f), eth(f).l3);
      const head = bytes(0x4a, 0x02, 0, 0, 0, 7, 0, 9, 0, 1, 0, 2, 0, 3, 0xee, 0xee, 0xee);
      const len = head.length + ppp.length;
      head[2] = len >> 8;
      head[3] = len & 255;
      return bytes(MACS, 0x08, 0x00, udp4(1701, 50000, bytes(head, ppp)));
    },
    layer: 'L2TP',
  },
  slip: {
    // direction (0: received), CSLIP type byte (0x40: plain IP), the rest of the 16-byte header unused
    linktype: LINKTYPE.SLIP,
    wrap: (f) => bytes(0, 0x40, Array(14).fill(0), eth(f).l3),
    layer: 'SLIP',
  },
  'frelay-nlpid': {
    // Q.922 address (DLCI 100, EA set on the second byte), UI, NLPID (IPv4 0xcc, IPv6 0x8e)
    linktype: LINKTYPE.FRELAY,
    wrap: (f) => bytes(0x18, 0x41, 0x03, eth(f).type[0] === 0x86 ? 0x8e : 0xcc, eth(f).l3),
    layer: 'FRELAY',
  },
  'frelay-pad-3-byte-address': {
    linktype: LINKTYPE.FRELAY,
    wrap: (f) => bytes(0x18, 0x40, 0x01, 0x03, 0x00, eth(f).type[0] === 0x86 ? 0x8e : 0xcc, eth(f).l3),
    layer: 'FRELAY',
  },
  'frelay-cisco': {
    // no UI byte: a Cisco-style EtherType after the address
    linktype: LINKTYPE.FRELAY,
    wrap: (f) => bytes(0x18, 0x41, eth(f).type, eth(f).l3),
    layer: 'FRELAY',
  },
  'frelay-snap': {
    // NLPID SNAP, OUI 00-00-00, the EtherType as protocol id
    linktype: LINKTYPE.FRELAY,
    wrap: (f) => bytes(0x18, 0x41, 0x03, 0x00, 0x80, 0, 0, 0, eth(f).type, eth(f).l3),
    layer: 'FRELAY',
  },
  'frelay-bridged': {
    // NLPID SNAP, OUI 00-80-C2, protocol id 7: a bridged Ethernet frame (no FCS)
    linktype: LINKTYPE.FRELAY,
    wrap: (f) => bytes(0x18, 0x41, 0x03, 0x00, 0x80, 0x00, 0x80, 0xc2, 0x00, 0x07, f),
    layer: 'ETHERNET',
  },
  'frelay-ppp': {
    // NLPID 0xcf: PPP (RFC 1973), then its protocol field
    linktype: LINKTYPE.FRELAY,
    wrap: (f) => bytes(0x18, 0x41, 0x03, 0xcf, 0x00, eth(f).type[0] === 0x86 ? 0x57 : 0x21, eth(f).l3),
    layer: 'PPP',
  },
  mfr: {
    // FRF.16 header with B and E set (a whole frame), sequence 5, then Frame Relay
    linktype: LINKTYPE.MFR,
    wrap: (f) => bytes(0xc0, 0x05, 0x18, 0x41, 0x03, eth(f).type[0] === 0x86 ? 0x8e : 0xcc, eth(f).l3),
    layer: 'MFR',
  },
  ipoib: {
    // 40-byte address pseudo-header (zeros here), EtherType, 2 reserved bytes
    linktype: LINKTYPE.IPOIB,
    wrap: (f) => bytes(Array(40).fill(0), eth(f).type, 0, 0, eth(f).l3),
    layer: 'IPOIB',
  },
  ipnet: {
    // version 1, family (Solaris: 2 IPv4, 26 IPv6), hook, length, interface, group interface, zones
    linktype: LINKTYPE.IPNET,
    wrap: (f) => bytes(1, eth(f).type[0] === 0x86 ? 26 : 2, 0, 0, Array(20).fill(0), eth(f).l3),
    layer: 'IPNET',
  },
  juniper: {
    // "MGC", flags 0x80 (extensions follow), their length, one TLV (media type 3: Ethernet), Ethernet
    linktype: LINKTYPE.JUNIPER_ETHER,
    wrap: (f) => bytes(0x4d, 0x47, 0x43, 0x80, 0x00, 0x03, 0x03, 0x01, 0x01, f),
    layer: 'JUNIPER',
  },
  'juniper-no-l2': {
    // flags 0x02: the link-layer header was stripped; 4 bytes of protocol code, then IP
    linktype: LINKTYPE.JUNIPER_ETHER,
    wrap: (f) => bytes(0x4d, 0x47, 0x43, 0x03, 2, 0, 0, 0, eth(f).l3),
    layer: 'JUNIPER',
  },
  'dsa-tag': {
    // Marvell DSA: 4-byte tag (forward, port 1) between the source address and the EtherType
    linktype: LINKTYPE.DSA_TAG_DSA,
    wrap: (f) => bytes(eth(f).macs, 0xc0, 0x0a, 0x00, 0x00, eth(f).type, eth(f).l3),
    layer: 'DSA-TAG',
  },
  'edsa-tag': {
    // Marvell EDSA: EtherType 0xdada, 2 reserved bytes, the DSA tag
    linktype: LINKTYPE.DSA_TAG_EDSA,
    wrap: (f) => bytes(eth(f).macs, 0xda, 0xda, 0, 0, 0xc0, 0, 0, 0, eth(f).type, eth(f).l3),
    layer: 'DSA-TAG',
  },
  'brcm-tag': {
    linktype: LINKTYPE.DSA_TAG_BRCM,
    wrap: (f) => bytes(eth(f).macs, 0x2c, 0x00, 0x00, 0x80, eth(f).type, eth(f).l3),
    layer: 'DSA-TAG',
  },
  'brcm-tag-prepend': {
    linktype: LINKTYPE.DSA_TAG_BRCM_PREPEND,
    wrap: (f) => bytes(0x00, 0x00, 0x20, 0x05, f),
    layer: 'DSA-TAG',
  },
  'macsec-sci': {
    // SecTAG: TCI 0x20 (SC: an SCI follows; E and C clear), short length 0, packet number, SCI; then the
    // frame's EtherType, its data, and a 16-byte ICV
    linktype: LINKTYPE.EN10MB,
    wrap: (f) =>
      bytes(
        eth(f).macs,
        0x88,
        0xe5,
        0x20,
        0,
        0,
        0,
        0,
        7,
        MACS.slice(6),
        0,
        1,
        eth(f).type,
        eth(f).l3,
        Array(16).fill(0xee),
      ),
    layer: 'MACSEC',
  },
  'macsec-no-sci': {
    linktype: LINKTYPE.EN10MB,
    wrap: (f) => bytes(eth(f).macs, 0x88, 0xe5, 0x00, 0, 0, 0, 0, 7, eth(f).type, eth(f).l3, Array(16).fill(0xee)),
    layer: 'MACSEC',
  },
  'arista-64': {
    // Arista's header: subtype 1 (timestamp), version 0x0010 (TAI, 64-bit format), 8-byte timestamp
    linktype: LINKTYPE.EN10MB,
    wrap: (f) => bytes(eth(f).macs, 0xd2, 0x8b, 0, 1, 0x00, 0x10, Array(8).fill(0x5c), eth(f).type, eth(f).l3),
    layer: 'ARISTA',
  },
  'arista-48': {
    // version 0x0120: UTC, 48-bit format (6-byte timestamp)
    linktype: LINKTYPE.EN10MB,
    wrap: (f) => bytes(eth(f).macs, 0xd2, 0x8b, 0, 1, 0x01, 0x20, Array(6).fill(0x5c), eth(f).type, eth(f).l3),
    layer: 'ARISTA',
  },
  nsh: {
    // base header (version 0, length 6 words, MD type 1, next protocol 1/2), service path, 4 context words
    linktype: LINKTYPE.EN10MB,
    wrap: (f) =>
      bytes(
        eth(f).macs,
        0x89,
        0x4f,
        0x00,
        0x06,
        0x01,
        eth(f).type[0] === 0x86 ? 2 : 1,
        0,
        0,
        3,
        9,
        Array(16).fill(0),
        eth(f).l3,
      ),
    layer: 'NSH',
  },
  'nsh-ethernet': {
    // next protocol 3: a whole Ethernet frame (MD type 2, no context headers: 2 words)
    linktype: LINKTYPE.EN10MB,
    wrap: (f) => bytes(MACS, 0x89, 0x4f, 0x00, 0x02, 0x02, 0x03, 0, 0, 3, 9, f),
    layer: 'NSH',
  },
};

const HOSTS: [string, string][] = [
  ['10.9.0.1', '10.9.0.2'],
  ['fd09::1', 'fd09::2'],
];

for (const [name, framing] of Object.entries(FRAMINGS)) {
  test(`${name}: the decoder reaches TCP port 80 and the request, IPv4 and IPv6`, () => {
    const v = new PacketView();
    for (const [src, dst] of HOSTS) {
      const frame = framing.wrap(tcpFrame({ src, dst, sport: 40001, dport: 80, seq: 5, payload: REQUEST }));
      v.decode(frame, framing.linktype);
      const why = `${name} ${src}: ${v.layers().join(' ')} ${v.undecodedName()}`;
      assert.equal(v.undecoded, '', why);
      assert.ok(!v.truncated && !v.malformed, why);
      assert.ok(v.layers().includes(framing.layer), why);
      assert.equal(v.ipVersion, src.includes(':') ? 6 : 4, why);
      assert.equal(v.srcAddr(), src, why);
      assert.equal(v.proto, IPPROTO.TCP, why);
      assert.equal(v.dstPort, 80, why);
      assert.equal(Buffer.from(v.payload()).toString('latin1'), REQUEST, why);
    }
  });
}

test('every framing, cut at every length, decodes without throwing and stays inside the frame', () => {
  const v = new PacketView();
  for (const [name, framing] of Object.entries(FRAMINGS)) {
    const frame = framing.wrap(tcpFrame({ seq: 5, payload: REQUEST }));
    for (let n = 0; n <= frame.length; n++) {
      v.decode(frame, framing.linktype, 0, n);
      for (const off of [v.l3Offset, v.l4Offset, v.payloadOffset]) assert.ok(off <= n, `${name} cut at ${n}`);
      assert.ok(v.payloadOffset < 0 || v.payloadOffset + v.payloadLength <= n, `${name} cut at ${n}`);
    }
  }
});

test('urls finds the requests through every framing, with the eBPF filter in front and without', async (t) => {
  const dir = tempDir(t);
  const c = new Conversation('10.9.0.1', '10.9.0.2', 40002, 80, 7000).handshake();
  c.clientSays('GET /lt/one HTTP/1.1\r\nHost: a\r\n\r\n');
  c.serverSays('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  c.clientSays('POST /lt/two HTTP/1.1\r\nContent-Length: 0\r\n\r\n');
  c.serverSays('HTTP/1.1 204 No Content\r\n\r\n');
  c.close();
  for (const [name, framing] of Object.entries(FRAMINGS)) {
    const file = join(dir, `${name}.pcap`);
    const frames = c.frames.map((f, i) => ({ tsSec: 1_700_000_000, tsUsec: i * 10, data: framing.wrap(f) }));
    writePcapFrames(file, framing.linktype, frames);
    for (const engine of ['vm', 'none'] as const) {
      const { records, summary } = await runUrls(file, 'full', engine);
      assert.deepEqual(
        records.map((r) => `${r.method} ${r.uri}`),
        ['GET /lt/one', 'POST /lt/two'],
        `${name}/${engine}`,
      );
      assert.equal(summary.extra['undecoded frames'] ?? 0, 0, `${name}/${engine}`);
      assert.equal(summary.warning, undefined, `${name}/${engine}`);
    }
  }
});

/** An Ethernet frame of EtherType `type` with 46 bytes of payload. */
const ethOf = (type: number, body: ArrayLike<number> = Array(46).fill(0)) => bytes(MACS, type >> 8, type & 255, body);
/** An 802.3 frame with an LLC/SNAP header: OUI, protocol id, payload. */
const snapOf = (oui: number, pid: number) =>
  bytes(MACS, 0, 38, 0xaa, 0xaa, 0x03, oui >> 16, (oui >> 8) & 255, oui & 255, pid >> 8, pid & 255, Array(30).fill(0));

test('frames that carry no IP are decoded as such, never counted as undecoded; unknown EtherTypes still are', () => {
  const v = new PacketView();
  const notIp: [string, number, Uint8Array][] = [
    ...[0x88cc, 0x8902, 0x8035, 0x88a2, 0x88f7, 0x88ca, 0x888e, 0x8809, 0x9000, 0x2000, 0xfefe].map(
      (t): [string, number, Uint8Array] => [`EtherType 0x${t.toString(16)}`, LINKTYPE.EN10MB, ethOf(t)],
    ),
    ...[0, 1, 2, 3, 4, 5, 6, 7].map((i): [string, number, Uint8Array] => [
      `DECnet 0x600${i}`,
      LINKTYPE.EN10MB,
      ethOf(0x6000 + i),
    ]),
    ...[0x2000, 0x2003, 0x2004, 0x0104, 0x0111].map((pid): [string, number, Uint8Array] => [
      `Cisco SNAP 0x${pid.toString(16)}`,
      LINKTYPE.EN10MB,
      snapOf(0x00000c, pid),
    ]),
    ...[0xc021, 0xc023, 0xc223, 0x8021, 0x8057].map((p): [string, number, Uint8Array] => [
      `PPP 0x${p.toString(16)}`,
      LINKTYPE.PPP,
      bytes(0xff, 0x03, p >> 8, p & 255, 1, 1, 0, 4),
    ]),
    // PPPoE session carrying LCP
    ['PPPoE LCP', LINKTYPE.EN10MB, ethOf(0x8864, bytes(0x11, 0, 0, 1, 0, 6, 0xc0, 0x21, 1, 1, 0, 4))],
    // Frame Relay: Q.933 link management, IS-IS; MFR control frame
    ['FR Q.933', LINKTYPE.FRELAY, bytes(0x00, 0x01, 0x03, 0x08, 0x00, 0x75, 0x95)],
    ['FR IS-IS', LINKTYPE.FRELAY, bytes(0x18, 0x41, 0x03, 0x83, 0x1b, 0x01)],
    ['MFR control', LINKTYPE.MFR, bytes(0xe0, 0x01, 0x00, 0x01, 0x02)],
    // Juniper Ethernet carrying LLDP
    ['Juniper LLDP', LINKTYPE.JUNIPER_ETHER, bytes(0x4d, 0x47, 0x43, 0x00, ethOf(0x88cc))],
  ];
  for (const [what, linktype, frame] of notIp) {
    v.decode(frame, linktype);
    assert.equal(v.undecoded, '', `${what}: ${v.undecodedName()}`);
    assert.equal(v.ipVersion, 0, what);
  }
  const undecoded: [string, number, Uint8Array, string][] = [
    ['junk EtherType', LINKTYPE.EN10MB, ethOf(0x1111), 'EtherType 0x1111'],
    ['Arista subtype unknown', LINKTYPE.EN10MB, ethOf(0xd28b, bytes(0, 2, 0, 0x10)), 'EtherType 0xd28b'],
    ['experimental EtherType', LINKTYPE.EN10MB, ethOf(0x88b5), 'EtherType 0x88b5'],
    ['Cisco SNAP id unknown', LINKTYPE.EN10MB, snapOf(0x00000c, 0x7777), 'EtherType 0x7777'],
    ['PPP multilink', LINKTYPE.PPP, bytes(0xff, 0x03, 0x00, 0x3d, 0xc0, 0, 0, 1), 'PPP protocol 0x003d'],
    ['FR NLPID unknown', LINKTYPE.FRELAY, bytes(0x18, 0x41, 0x03, 0x11, 1, 2, 3), 'Frame Relay NLPID 0x11'],
    ['MFR fragment', LINKTYPE.MFR, bytes(0x80, 0x01, 0x18, 0x41, 0x03, 0xcc, 0x45), 'link type MFR'],
    [
      'MACsec encrypted',
      LINKTYPE.EN10MB,
      ethOf(0x88e5, bytes(0x2c, 0, 0, 0, 0, 9, MACS.slice(6), 0, 1, Array(40).fill(0x5a))),
      'MACsec encrypted frames',
    ],
    [
      'MACsec changed text',
      LINKTYPE.EN10MB,
      ethOf(0x88e5, bytes(0x24, 0, 0, 0, 0, 9, MACS.slice(6), 0, 1, Array(40).fill(0x5a))),
      'MACsec encrypted frames',
    ],
  ];
  for (const [what, linktype, frame, name] of undecoded) {
    v.decode(frame, linktype);
    assert.equal(v.undecodedName(), name, what);
  }
});

test('L2TP: control messages, other versions and reserved bits set stay plain UDP datagrams', () => {
  const v = new PacketView();
  const ip = eth(tcpFrame({ seq: 5, payload: REQUEST })).l3;
  for (const [what, head] of [
    ['control message (T bit)', [0xc8, 0x02, 0, 20, 0, 1, 0, 0, 0, 0, 0, 0]],
    // (L2TPv3 data messages are decoded: l2tpv3.test.ts)
    ['L2TPv3 control message (T bit)', [0xc8, 0x03, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0]],
    ['a reserved bit', [0x04, 0x02, 0, 1, 0, 2]],
    ['a length past the datagram', [0x40, 0x02, 0x0f, 0xff, 0, 1, 0, 2]],
  ] as const) {
    v.decode(bytes(MACS, 0x08, 0x00, udp4(1701, 1701, bytes(head, 0x00, 0x21, ip))), LINKTYPE.EN10MB);
    assert.equal(v.proto, IPPROTO.UDP, what);
    assert.ok(!v.layers().includes('L2TP'), what);
    assert.equal(v.undecoded, '', what);
  }
});

test('MACsec: the short length bounds the secure data (the ICV after it is not payload)', () => {
  const v = new PacketView();
  const f = tcpFrame({ seq: 5, payload: 'GET / HTTP/1.0\r\n' });
  const { macs, type, l3 } = eth(f);
  // short length counts the secure data: EtherType + IP packet (under 48 bytes only)
  const ip = l3.subarray(0, 20 + 20 + 4); // IPv4 + TCP + 'GET ' (the IP length field says more: cut here)
  const sl = 2 + ip.length;
  assert.ok(sl < 48);
  v.decode(bytes(macs, 0x88, 0xe5, 0x00, sl, 0, 0, 0, 1, type, ip, Array(16).fill(0x47)), LINKTYPE.EN10MB);
  assert.equal(v.proto, IPPROTO.TCP);
  assert.equal(Buffer.from(v.payload()).toString('latin1'), 'GET ', 'the ICV must not be read as payload');
});

test('nesting through MACsec and NSH is bounded by the decoder depth limit', () => {
  const v = new PacketView();
  // NSH announcing NSH inside, 40 times
  const nsh = Array.from({ length: 40 }, () => [0x00, 0x02, 0x02, 0x04, 0, 0, 3, 9]).flat();
  v.decode(bytes(MACS, 0x89, 0x4f, nsh, Array(20).fill(0)), LINKTYPE.EN10MB);
  assert.ok(v.tooDeep && v.malformed);
  // MACsec announcing MACsec inside, 40 times
  const macsec = Array.from({ length: 40 }, () => [0x00, 0, 0, 0, 0, 1, 0x88, 0xe5]).flat();
  v.decode(bytes(MACS, 0x88, 0xe5, macsec, Array(20).fill(0)), LINKTYPE.EN10MB);
  assert.ok(v.tooDeep && v.malformed);
});

test('link types are named as libpcap names them; 147-162 are the registry USER0..15', () => {
  assert.equal(linktypeName(160), 'USER13');
  assert.equal(linktypeName(147), 'USER0');
  assert.equal(linktypeName(162), 'USER15');
  assert.equal(parseLinktype('user13'), 160);
  const named: [number, string][] = [
    [LINKTYPE.SLIP, 'SLIP'],
    [LINKTYPE.FRELAY, 'FRELAY'],
    [LINKTYPE.MFR, 'MFR'],
    [LINKTYPE.JUNIPER_ETHER, 'JUNIPER_ETHER'],
    [LINKTYPE.IPNET, 'IPNET'],
    [LINKTYPE.IPOIB, 'IPOIB'],
    [LINKTYPE.DSA_TAG_BRCM, 'DSA_TAG_BRCM'],
    [LINKTYPE.DSA_TAG_BRCM_PREPEND, 'DSA_TAG_BRCM_PREPEND'],
    [LINKTYPE.DSA_TAG_DSA, 'DSA_TAG_DSA'],
    [LINKTYPE.DSA_TAG_EDSA, 'DSA_TAG_EDSA'],
  ];
  for (const [n, name] of named) {
    assert.equal(linktypeName(n), name);
    assert.equal(parseLinktype(name), n);
  }
});
