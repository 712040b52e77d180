// SegmentStore and TcpStream against a plain model: random segments in any order, any overlap, any holes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpStream, type StreamStats } from '../../../src/packet/flow/tcp-stream.js';
import { ModelStream } from './model-stream.js';

/** A small seeded generator (xorshift32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

interface Call {
  kind: 'data' | 'gap';
  text: string;
  ts: number;
}

function record(s: { consumer: TcpStream['consumer'] }): Call[] {
  const calls: Call[] = [];
  s.consumer = {
    data: (b, start, end, ts) =>
      calls.push({ kind: 'data', text: Buffer.from(b.subarray(start, end)).toString('latin1'), ts }),
    gap: () => calls.push({ kind: 'gap', text: '', ts: 0 }),
  };
  return calls;
}

/** Feeds the same random segments to both streams; `span` bytes of stream, `count` segments at most. */
function compare(seed: number, span: number, count: number, maxLen: number): void {
  {
    const r = rng(seed);
    const statsA: StreamStats = { bufferedBytes: 0, retransmitted: 0, outOfOrder: 0, gaps: 0 };
    const statsB: StreamStats = { bufferedBytes: 0, retransmitted: 0, outOfOrder: 0, gaps: 0 };
    const cap = 1 << 20; // (the model counts duplicate bytes against its cap, the store does not)
    const a = new TcpStream(statsA, cap);
    const b = new ModelStream(statsB, cap);
    const ca = record(a);
    const cb = record(b);
    const isn = Math.floor(r() * 2 ** 32) | 0;
    const withSyn = r() < 0.7;
    if (withSyn) {
      a.syn(isn);
      b.syn(isn);
    }
    const n = 1 + Math.floor(r() * count);
    for (let i = 0; i < n; i++) {
      const off = Math.floor(r() * span);
      const len = Math.floor(r() * maxLen);
      const ch = String.fromCharCode(65 + (i % 26));
      const data = Buffer.from(ch.repeat(len), 'latin1');
      const seq = (isn + 1 + off) | 0;
      a.segment(seq, data, 0, len, false, i);
      b.segment(seq, data, 0, len, false, i);
    }
    a.flush();
    b.flush();
    assert.deepEqual(ca, cb, `seed ${seed}`);
    assert.equal(statsA.gaps, statsB.gaps, `seed ${seed}: gaps`);
    assert.equal(statsA.outOfOrder, statsB.outOfOrder, `seed ${seed}: out of order`);
    assert.equal(statsA.bufferedBytes, 0, `seed ${seed}: nothing left charged`);
  }
}

test('random segments: the same calls (bytes, boundaries, times, gaps) and counters as the plain model', () => {
  for (let seed = 1; seed <= 400; seed++) compare(seed, 120, 60, 12);
});

test('random segments, many pieces (blocks fill, split and empty): still the model', () => {
  for (let seed = 1; seed <= 40; seed++) compare(seed, 4000, 3000, 1 + (seed % 5) * 3);
});

test('a consumer that flushes its own stream from inside a callback: no fault, nothing left charged', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const r = rng(seed);
    const stats: StreamStats = { bufferedBytes: 0, retransmitted: 0, outOfOrder: 0, gaps: 0 };
    const s = new TcpStream(stats, r() < 0.5 ? 100 + Math.floor(r() * 5000) : 1 << 20);
    let delivered = 0;
    s.consumer = {
      data: (_b, start, end) => {
        assert.ok(end > start);
        delivered += end - start;
        if (r() < 0.01) s.flush();
      },
      gap: () => {
        if (r() < 0.1) s.flush();
      },
    };
    const isn = Math.floor(r() * 2 ** 32) | 0;
    if (r() < 0.5) s.syn(isn);
    const big = new Uint8Array(3000).fill(65);
    const span = 10 + Math.floor(r() * 100000);
    const n = Math.floor(r() * 1000);
    const covered = new Uint8Array(span + 3000);
    for (let i = 0; i < n; i++) {
      const len = r() < 0.2 ? Math.floor(r() * 3000) : Math.floor(r() * 20);
      const off = Math.floor(r() * span);
      covered.fill(1, off, off + len);
      s.segment((isn + 1 + off) | 0, big, 0, len, r() < 0.01, i);
    }
    s.flush();
    assert.equal(stats.bufferedBytes, 0, `seed ${seed}`);
    assert.ok(delivered <= covered.reduce((a, x) => a + x, 0), `seed ${seed}: no byte twice`);
  }
});
