/**
 * L2TPv3 (RFC 3931) data messages, straight over IP (protocol 115) and over UDP 1701, carrying Ethernet
 * pseudowires (RFC 4719): the decoder finds the inner frame whatever the session's cookie (0, 4, 8 bytes)
 * and L2-specific sublayer (0, 4), which only the control channel says; control messages carry none;
 * a header cut short or a length past the frame reads nothing beyond it; a loop of L2TPv3 inside L2TPv3
 * stops at the depth limit, counted malformed. And tshark, by default, decodes no payload of a session
 * whose control channel was not captured: the difference is on purpose (docs/urls.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PacketView } from '../../src/packet/decode/packet-view.js';
import { IPPROTO } from '../../src/packet/decode/constants.js';
import { LINKTYPE } from '../../src/packet/linktype.js';
import { MAX_ENCAP_DEPTH } from '../../src/packet/decode/layers.js';
import { Conversation, tcpFrame } from '../support/tcp-frames.js';
import { needs } from '../support/env.js';
import { writePcapFrames } from '../http/corpus/pcap-out.js';
import { runUrls } from '../http/support.js';
import { tempDir, tsharkFields } from './helpers.js';

const bytes = (...parts: (ArrayLike<number> | number)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : Array.from(p))));
const be16 = (n: number) => [(n >> 8) & 255, n & 255];
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const MACS = [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];

/** IPv4 (protocol `proto`) around `payload`; `claim` overrides the total length field. */
const ipv4 = (proto: number, payload: Uint8Array, claim = 20 + payload.length) =>
  bytes([0x45, 0, ...be16(claim), 0, 0, 0x40, 0, 64, proto, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2], payload);
const udp = (sport: number, dport: number, payload: Uint8Array) =>
  bytes([...be16(sport), ...be16(dport), ...be16(8 + payload.length), 0, 0], payload);
const ethIp = (ip: Uint8Array) => bytes(MACS, 0x08, 0x00, ip);

/** The session header: session id, cookie, sublayer (S bit and a sequence number when present). */
const session = (id: number, cookie: number, sublayer: boolean) =>
  bytes(be32(id), Array(cookie).fill(0xc5), sublayer ? [0x40, 0, 0, 7] : []);

const overIp = (head: Uint8Array, frame: Uint8Array) => ethIp(ipv4(115, bytes(head, frame)));
const overUdp = (head: Uint8Array, frame: Uint8Array) =>
  ethIp(ipv4(17, udp(1701, 1701, bytes([0, 3, 0, 0], head, frame))));

const inner = tcpFrame({
  src: '10.9.0.1',
  dst: '10.9.0.2',
  sport: 40001,
  dport: 80,
  seq: 9,
  payload: 'GET /v3 HTTP/1.1\r\n\r\n',
});

for (const [over, wrap, layers] of [
  ['IP', overIp, ['ETHERNET', 'IPV4', 'L2TP', 'ETHERNET', 'IPV4']],
  ['UDP', overUdp, ['ETHERNET', 'IPV4', 'UDP', 'L2TP', 'ETHERNET', 'IPV4']],
] as const) {
  for (const cookie of [0, 4, 8]) {
    for (const sublayer of [false, true]) {
      test(`L2TPv3 over ${over}, a ${cookie}-byte cookie, ${sublayer ? 'the default' : 'no'} sublayer: the inner segment`, () => {
        const v = new PacketView();
        v.decode(wrap(session(0xabcd0001, cookie, sublayer), inner), LINKTYPE.EN10MB);
        assert.equal(v.proto, IPPROTO.TCP);
        assert.deepEqual(v.layers(), layers);
        assert.equal(v.tunnelId, 0xabcd0001);
        assert.equal(v.srcAddr(), '10.9.0.1');
        assert.equal(Buffer.from(v.payload()).toString('latin1'), 'GET /v3 HTTP/1.1\r\n\r\n');
        assert.ok(!v.malformed && !v.truncated);
        assert.ok(v.outerL3Offset >= 0 && v.outerL3Offset < v.l3Offset, 'the outer IP header is kept');
      });
    }
  }
}

test('L2TPv3 messages that carry no frame stay what they are: a control message over IP, over UDP', () => {
  const v = new PacketView();
  // session id 0 over IP: a control message (T, L, S bits, version 3, length, connection id, Ns, Nr)
  v.decode(overIp(bytes(be32(0), [0xc8, 0x03, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0]), bytes()), LINKTYPE.EN10MB);
  assert.equal(v.proto, 115);
  assert.deepEqual(v.layers(), ['ETHERNET', 'IPV4']);
  assert.ok(!v.malformed);
  // over UDP, T bit set
  v.decode(ethIp(ipv4(17, udp(1701, 1701, bytes([0xc8, 0x03, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0])))), LINKTYPE.EN10MB);
  assert.equal(v.proto, IPPROTO.UDP);
  assert.ok(!v.malformed);
});

test('hostile L2TPv3: a header cut short, lengths past the frame: nothing read beyond it', () => {
  const v = new PacketView();
  // a session id cut to 2 bytes
  v.decode(ethIp(ipv4(115, bytes([0, 1]))), LINKTYPE.EN10MB);
  assert.equal(v.proto, 115);
  assert.equal(v.encapDepth, 0);
  // the outer IP length claims 400 bytes more than the frame holds
  const whole = overIp(session(5, 0, false), inner);
  const claiming = bytes(whole.subarray(0, 14), ipv4(115, whole.subarray(34), whole.length - 14 + 400));
  v.decode(claiming, LINKTYPE.EN10MB);
  assert.ok(v.truncated || v.payloadOffset + v.payloadLength <= claiming.length);
  assert.ok(v.payloadOffset < 0 || v.payloadOffset + v.payloadLength <= claiming.length);
  // the inner frame cut in its TCP header: truncated, no read past the carrier
  const cut = overUdp(session(6, 4, true), inner.subarray(0, 14 + 20 + 8));
  v.decode(cut, LINKTYPE.EN10MB);
  assert.equal(v.tunnelId, 6);
  assert.ok(v.truncated);
  assert.equal(v.payloadOffset, -1);
  // nothing after the session id but a few bytes, less than an Ethernet header: no inner frame
  v.decode(overIp(session(7, 0, false), bytes([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])), LINKTYPE.EN10MB);
  assert.equal(v.encapDepth, 0);
  assert.equal(v.proto, 115);
  // a cookie and sublayer, then 3 bytes: read as a (802.3-length) frame at offset 0, within the carrier
  v.decode(overIp(session(7, 8, true), bytes([1, 2, 3])), LINKTYPE.EN10MB);
  assert.equal(v.encapDepth, 1);
  assert.notEqual(v.proto, IPPROTO.TCP);
});

test('hostile L2TPv3: bytes that are no Ethernet frame at any offset are decoded at offset 0, and counted', () => {
  const v = new PacketView();
  v.decode(overIp(session(8, 0, false), bytes(MACS, 0x88, 0xb5, Array(40).fill(0))), LINKTYPE.EN10MB);
  assert.equal(v.encapDepth, 1);
  assert.notEqual(v.proto, IPPROTO.TCP);
  assert.match(v.undecodedName(), /0x88b5/);
});

test('hostile L2TPv3: L2TPv3 inside L2TPv3, 40 deep, stops at the depth limit (malformed, tooDeep)', () => {
  let f = inner;
  for (let i = 0; i < 40; i++) f = i % 2 ? overIp(session(i + 1, 0, false), f) : overUdp(session(i + 1, 4, true), f);
  const v = new PacketView();
  v.decode(f, LINKTYPE.EN10MB);
  assert.ok(v.tooDeep && v.malformed);
  assert.equal(v.encapDepth, MAX_ENCAP_DEPTH);
  // within the limit, the innermost segment is reached
  let g = inner;
  for (let i = 0; i < MAX_ENCAP_DEPTH; i++) g = overIp(session(i + 1, 0, false), g);
  v.decode(g, LINKTYPE.EN10MB);
  assert.equal(v.proto, IPPROTO.TCP);
  assert.ok(!v.tooDeep);
});

test('urls through L2TPv3 with the filter in the VM (it keeps protocol 115) and without; tshark sees no request', async (t) => {
  const dir = tempDir(t);
  const c = new Conversation('10.9.0.1', '10.9.0.2', 40002, 8088).handshake();
  c.clientSays('GET /v3/a HTTP/1.1\r\nHost: pw\r\n\r\n');
  c.serverSays('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  c.clientSays('GET /v3/b HTTP/1.1\r\nHost: pw\r\n\r\n');
  c.close();
  const file = join(dir, 'l2tpv3.pcap');
  writePcapFrames(
    file,
    LINKTYPE.EN10MB,
    c.frames.map((d, i) => ({ tsSec: 1_700_000_000, tsUsec: i, data: overIp(session(0x77, 4, true), d) })),
  );
  for (const engine of ['vm', 'none'] as const) {
    const { records } = await runUrls(file, 'full', engine);
    assert.deepEqual(
      records.map((r) => `${r.method} ${r.uri} ${r.host}`),
      ['GET /v3/a pw', 'GET /v3/b pw'],
      engine,
    );
  }
  if (!needs(t, { tools: ['tshark'] })) return;
  // tshark's default ("Detect") without the control channel: no cookie, no sublayer, payload left as data
  const rows = tsharkFields(file, ['frame.protocols'], ['-c', '1']);
  assert.match(rows[0]![0]!, /l2tp:data$/);
  assert.deepEqual(tsharkFields(file, ['http.request.uri'], ['-Y', 'http.request']), []);
});

test('urls counts an L2TPv3 nesting loop as a malformed frame, and loses nothing else', async (t) => {
  const dir = tempDir(t);
  const c = new Conversation('10.9.0.1', '10.9.0.2', 40003, 80).handshake();
  c.clientSays('GET /v3/deep HTTP/1.1\r\n\r\n');
  c.close();
  // the request's frame three deep; one of the FIN frames 40 deep
  const frames = c.frames.map((d, i) => {
    let f = d;
    for (let k = 0; k < (i === 3 ? 40 : 3); k++) f = overIp(session(k + 1, 0, false), f);
    return { tsSec: 1_700_000_000, tsUsec: i, data: f };
  });
  const file = join(dir, 'deep.pcap');
  writePcapFrames(file, LINKTYPE.EN10MB, frames);
  const { records, summary } = await runUrls(file, 'full', 'vm');
  assert.deepEqual(
    records.map((r) => r.uri),
    ['/v3/deep'],
  );
  assert.equal(summary.extra['malformed frames'], 1);
});
