// FragmentReassembler on its own: datagrams rebuilt from fragments in any order, bounded and timed out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FragmentReassembler } from '../../../src/packet/flow/ip-fragments.js';
import { PacketView } from '../../../src/packet/decode/packet-view.js';
import { IPPROTO } from '../../../src/packet/decode/constants.js';
import { tcpFrame, ACK, PSH } from '../../support/tcp-frames.js';
import { ModelReassembler } from './model-fragments.js';

/** IPv4 fragments of `whole` (an Ethernet frame) carrying upper-layer bytes [from, to). */
function fragmenter(whole: Uint8Array, id = 0x4242, proto?: number) {
  const upper = whole.subarray(14 + 20);
  const frag = (from: number, to: number, more: boolean) => {
    const f = new Uint8Array(14 + 20 + (to - from));
    f.set(whole.subarray(0, 14 + 20), 0);
    const dv = new DataView(f.buffer);
    dv.setUint16(14 + 2, 20 + (to - from));
    dv.setUint16(14 + 4, id);
    dv.setUint16(14 + 6, (from / 8) | (more ? 0x2000 : 0));
    if (proto !== undefined) f[14 + 9] = proto;
    f.set(upper.subarray(from, to), 34);
    return f;
  };
  return { upper, frag };
}

const payload = 'GET /fragmented/path HTTP/1.1\r\nHost: f\r\n\r\n';

test('IPv4 fragments in any order (the TCP header split across two) give back the datagram', () => {
  const whole = tcpFrame({ seq: 7, flags: ACK | PSH, payload, sport: 41000 });
  const { upper, frag } = fragmenter(whole);
  const r = new FragmentReassembler();
  const v = new PacketView();
  const results = [frag(16, 40, true), frag(40, upper.length, false), frag(0, 16, true)].map((f) => {
    v.decode(f, 1);
    assert.equal(v.isFragment, true);
    return r.add(v, 100);
  });
  assert.deepEqual(results, [false, false, true]);
  assert.equal(v.proto, IPPROTO.TCP);
  assert.equal(v.srcPort, 41000);
  assert.equal(v.tcpSeq, 7);
  assert.equal(Buffer.from(v.bytes.subarray(v.payloadOffset, v.payloadOffset + v.payloadLength)).toString(), payload);
  assert.deepEqual(r.stats, { fragments: 3, reassembled: 1, expired: 0 });
  assert.equal(r.size, 0);
});

test('overlapping fragments: the lowest-offset piece wins', () => {
  const whole = tcpFrame({ seq: 7, payload: 'AAAAAAAABBBBBBBBCCCCCCCC' });
  const { upper, frag } = fragmenter(whole);
  const liar = frag(24, 40, true);
  liar.fill(0x5a, 34); // other bytes for [24, 40): the piece at 0 wins [24, 32), the liar [32, 40)
  const r = new FragmentReassembler();
  const v = new PacketView();
  for (const f of [liar, frag(0, 32, true), frag(32, upper.length, false)]) r.add(v.decode(f, 1), 0);
  assert.equal(
    Buffer.from(v.bytes.subarray(v.payloadOffset, v.payloadOffset + v.payloadLength)).toString(),
    'AAAAAAAABBBBZZZZZZZZCCCC',
  );
});

test('`protocol` limits which datagrams are rebuilt; the others are still counted', () => {
  const whole = tcpFrame({ seq: 7, payload });
  const { upper, frag } = fragmenter(whole, 1, IPPROTO.UDP);
  const onlyTcp = new FragmentReassembler({ protocol: IPPROTO.TCP });
  const any = new FragmentReassembler();
  const v = new PacketView();
  for (const r of [onlyTcp, any]) r.add(v.decode(frag(0, 24, true), 1), 0);
  assert.equal(onlyTcp.add(v.decode(frag(24, upper.length, false), 1), 0), false);
  assert.equal(onlyTcp.stats.reassembled, 1);
  assert.equal(any.add(v.decode(frag(24, upper.length, false), 1), 0), true);
  assert.equal(v.proto, IPPROTO.UDP);
});

test('a datagram that would exceed the IP maximum is dropped as malformed', () => {
  const whole = tcpFrame({ seq: 7, payload });
  const { frag } = fragmenter(whole);
  const r = new FragmentReassembler({ maxDatagramBytes: 1000 });
  const v = new PacketView();
  const far = frag(0, 16, true);
  new DataView(far.buffer).setUint16(14 + 6, (1000 / 8) | 0x2000);
  assert.equal(r.add(v.decode(far, 1), 0), false);
  assert.equal(r.malformed, true);
  assert.equal(r.stats.expired, 1);
  assert.equal(r.size, 0);
});

test('incomplete datagrams expire after the timeout, and the oldest makes room when too many wait', () => {
  const whole = tcpFrame({ seq: 7, payload });
  const r = new FragmentReassembler({ timeoutSec: 30, maxDatagrams: 2 });
  const v = new PacketView();
  for (const [id, t] of [
    [1, 0],
    [2, 10],
  ] as const)
    r.add(v.decode(fragmenter(whole, id).frag(0, 16, true), 1), t);
  assert.equal(r.size, 2);
  r.add(v.decode(fragmenter(whole, 3).frag(0, 16, true), 1), 20);
  assert.equal(r.size, 2, 'the third pushed the oldest out');
  r.expire(45);
  assert.equal(r.size, 1, 'only the one from t=20 is within 30 s');
  assert.equal(r.stats.expired, 2);
});

test('random fragments (any order, overlaps, duplicates, several ends): the same datagrams as the plain model', () => {
  let x = 12345;
  const r = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  for (let round = 0; round < 300; round++) {
    const body = Array.from({ length: 8 + Math.floor(r() * 200) }, (_, i) =>
      String.fromCharCode(97 + ((i * 7 + round) % 26)),
    ).join('');
    const whole = tcpFrame({ seq: round, payload: body });
    const { upper, frag } = fragmenter(whole, round);
    const frames: Uint8Array[] = [];
    const n = 1 + Math.floor(r() * 30);
    for (let i = 0; i < n; i++) {
      const from = 8 * Math.floor((r() * upper.length) / 8);
      const to = Math.min(upper.length, from + 1 + Math.floor(r() * 64));
      const f = frag(from, to, to < upper.length || r() < 0.3);
      if (r() < 0.2) f.fill(0x30 + i, 34); // a liar: other bytes for the same range
      frames.push(f);
    }
    frames.push(frag(0, upper.length, false));
    const mine = new FragmentReassembler();
    const model = new ModelReassembler();
    const va = new PacketView();
    const vb = new PacketView();
    for (const f of frames) {
      const a = mine.add(va.decode(f, 1), 0);
      const b = model.add(vb.decode(f, 1), 0);
      assert.equal(a, b, `round ${round}`);
      if (a) assert.deepEqual(Buffer.from(va.bytes), Buffer.from(vb.bytes), `round ${round}`);
      if (a) break;
    }
    assert.deepEqual(mine.stats, model.stats, `round ${round}`);
  }
});
