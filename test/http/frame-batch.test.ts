// Full mode's filter a batch at a time (FrameBatch + FullFilter.keepBatch) against the same filter one
// frame at a time: the same verdicts and the same session map, also when flows end mid-batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameBatch, KEY_WORDS } from '../../src/apps/http/frame-batch.js';
import { loadFilterObject } from '../../src/apps/http/filter-engine.js';
import { fullSessionKey } from '../../src/apps/http/full-key.js';
import { FrameView } from '../../src/packet/frame.js';
import type { FlowEnds } from '../../src/packet/flow/flow-key.js';
import { tcpFrame, SYN, ACK, RST, FIN } from '../support/tcp-frames.js';

/** Frames laid end to end in one buffer, as a capture chunk holds them. */
function chunk(frames: Uint8Array[]): { bytes: Uint8Array; at: number[] } {
  const bytes = new Uint8Array(frames.reduce((n, f) => n + f.length + 3, 0));
  const at: number[] = [];
  let p = 0;
  for (const f of frames) {
    p += 3;
    at.push(p);
    bytes.set(f, p);
    p += f.length;
  }
  return { bytes, at };
}

function ends(src: string, sport: number, dst: string, dport: number): FlowEnds {
  const w = (a: string) => [a.split('.').reduce((n, x) => n * 256 + Number(x), 0)];
  return { ipVersion: 4, addrA: w(src), portA: sport, addrB: w(dst), portB: dport };
}

test("a batch reads each frame's session key as the filter does (both directions, VLAN tags, IPv6)", () => {
  const b = new FrameBatch();
  const frames = [
    tcpFrame({ src: '10.0.0.9', dst: '10.0.0.2', sport: 5000, dport: 9000, seq: 1, flags: SYN }),
    tcpFrame({
      src: '10.0.0.2',
      dst: '10.0.0.9',
      sport: 9000,
      dport: 5000,
      seq: 1,
      flags: SYN | ACK,
      vlan: [0x88a8, 0x8100],
    }),
    tcpFrame({ src: 'fe80::2', dst: 'fe80::1', sport: 1234, dport: 80, seq: 1, flags: SYN }),
  ];
  const { bytes, at } = chunk(frames);
  const view = new FrameView();
  frames.forEach((f, i) => assert.equal(b.add(view.set(bytes, at[i]!, f.length, 1, i)), true));
  const key = (i: number) => new Uint8Array(new Uint32Array(b.keys.slice(i * KEY_WORDS, (i + 1) * KEY_WORDS)).buffer);
  const v4 = fullSessionKey(4, [0x0a000002], 9000, [0x0a000009], 5000);
  assert.deepEqual(key(0), v4);
  assert.deepEqual(key(1), v4);
  assert.deepEqual(key(2), fullSessionKey(6, [0xfe800000, 0, 0, 1], 80, [0xfe800000, 0, 0, 2], 1234));
  // another link type goes the per-frame way
  assert.equal(FrameBatch.batchable(view.set(bytes, at[0]!, frames[0]!.length, 101, 0)), false);
});

test('verdicts and sessions of a batch equal one frame at a time, with flows ended mid-batch', async () => {
  const one = await loadFilterObject('full', 'vm');
  const many = await loadFilterObject('full', 'vm');
  try {
    // Port 9000 is no HTTP port: a segment there is kept only while its connection is tracked.
    const c = (sport: number, flags: number, payload?: string) =>
      tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport, dport: 9000, seq: 1, ack: 1, flags, payload });
    const frames = [
      c(4001, SYN), // 0: tracks 4001
      c(4002, ACK, 'GET / HTTP/1.1\r\n\r\n'), // 1: tracks 4002 (a request start)
      c(4001, ACK, 'data'), // 2: kept (tracked); the analyzer ends 4001 here
      c(4001, ACK, 'more'), // 3: dropped one at a time (the entry is gone)
      c(4002, ACK, 'body'), // 4: kept
      c(4001, SYN), // 5: the port is used again: tracked anew
      c(4001, ACK, 'x'), // 6: kept; the analyzer ends 4001 again here
      c(4001, ACK, 'y'), // 7: dropped
      c(4002, RST), // 8: kept, 4002's entry removed
      c(4002, ACK, 'z'), // 9: dropped
      c(4001, FIN | ACK), // 10: dropped
    ];
    const forgetAt = new Map([
      [2, ends('10.0.0.1', 4001, '10.0.0.2', 9000)],
      [6, ends('10.0.0.1', 4001, '10.0.0.2', 9000)],
    ]);
    const { bytes, at } = chunk(frames);
    const view = new FrameView();
    const a = one.full();
    const expected = frames.map((f, i) => {
      const kept = a.keep(view.set(bytes, at[i]!, f.length, 1, 100 + i));
      const flow = forgetAt.get(i);
      if (flow) a.forget(flow);
      return kept ? 1 : 0;
    });
    assert.deepEqual(expected, [1, 1, 1, 0, 1, 1, 1, 0, 1, 0, 0]);
    const m = many.full();
    const batch = new FrameBatch();
    frames.forEach((f, i) => assert.equal(batch.add(view.set(bytes, at[i]!, f.length, 1, 100 + i)), true));
    const verdicts = new Uint8Array(frames.length);
    m.keepBatch!(batch, verdicts);
    for (let i = 0; i < frames.length; i++) {
      m.replayAt!(i);
      const flow = forgetAt.get(i);
      if (flow) m.forget(flow);
    }
    m.replayDone!();
    assert.deepEqual([...verdicts], expected);
    const keys = (f: typeof one) => [...f.sessions!.keys()].map((k) => Buffer.from(k).toString('hex')).sort();
    assert.deepEqual(keys(many), keys(one));
  } finally {
    one.close();
    many.close();
  }
});
