// TcpStream on its own: each byte once, in order, whatever the segments' order, and gaps reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpStream, type StreamStats } from '../../../src/packet/flow/tcp-stream.js';

function stream(maxPending = 1 << 20) {
  const stats: StreamStats = { bufferedBytes: 0, retransmitted: 0, outOfOrder: 0, gaps: 0 };
  const s = new TcpStream(stats, maxPending);
  const got: string[] = [];
  let text = '';
  s.consumer = {
    data: (b, start, end) => {
      text += Buffer.from(b.subarray(start, end)).toString('latin1');
    },
    gap: () => {
      got.push(text);
      text = '';
    },
  };
  const seg = (seq: number, data: string, fin = false) =>
    s.segment(seq | 0, Buffer.from(data, 'latin1'), 0, data.length, fin, 0);
  const pieces = () => [...got, text];
  return { s, stats, seg, pieces };
}

test('out-of-order, duplicated and overlapping segments come out once, in order', () => {
  const { s, stats, seg, pieces } = stream();
  s.syn(99);
  seg(106, 'world');
  seg(100, 'hello ');
  seg(100, 'hello ');
  seg(103, 'lo wor');
  seg(111, '!', true);
  assert.deepEqual(pieces(), ['hello world!']);
  assert.equal(stats.outOfOrder, 1);
  assert.equal(stats.retransmitted, 2);
  assert.equal(stats.bufferedBytes, 0);
  assert.equal(s.finished, true, 'everything up to the FIN was delivered');
});

test('sequence numbers wrap around 2^32', () => {
  const { s, seg, pieces } = stream();
  s.syn(0xfffffffd);
  seg(0xfffffffe, 'ab');
  seg(2, 'ef');
  seg(0, 'cd');
  assert.deepEqual(pieces(), ['abcdef']);
});

test('without a SYN the stream starts at the lowest of its first segments', () => {
  const { s, seg, pieces } = stream();
  seg(5010, 'second ');
  seg(5000, 'the first ');
  seg(5017, 'third', true);
  assert.equal(s.synced, true, 'a FIN makes it choose');
  assert.deepEqual(pieces(), ['the first second third']);
});

test('a hole that never fills is skipped at the buffer cap and at flush, and the consumer is told', () => {
  const { s, stats, seg, pieces } = stream(8);
  s.syn(0);
  seg(1, 'abc');
  seg(10, 'xxxx');
  seg(14, 'yyyyy'); // 9 bytes held: over the cap of 8
  assert.deepEqual(pieces(), ['abc', 'xxxxyyyyy']);
  seg(30, 'zz');
  s.flush();
  assert.deepEqual(pieces(), ['abc', 'xxxxyyyyy', 'zz']);
  assert.equal(stats.gaps, 2);
  assert.equal(s.bufferedBytes, 0);
});

test('onFirstData sees the first bytes once, before the consumer', () => {
  const { s, seg } = stream();
  const order: string[] = [];
  s.onFirstData = (b, start, end) => order.push(`first:${Buffer.from(b.subarray(start, end)).toString()}`);
  const consumer = s.consumer!;
  s.consumer = {
    data: (b, start, end, ts) => (order.push('data'), consumer.data(b, start, end, ts)),
    gap: consumer.gap,
  };
  s.syn(0);
  seg(1, 'GET');
  seg(4, ' /');
  assert.deepEqual(order, ['first:GET', 'data', 'data']);
});

test('a segment the snapshot length cut: its bytes, then the gap at once, and the next segment follows in order', () => {
  const { s, stats, pieces } = stream();
  const events: string[] = [];
  const consumer = s.consumer!;
  s.consumer = {
    data: (b, start, end, ts) => {
      events.push(`data ${end - start}`);
      consumer.data(b, start, end, ts);
    },
    gap: () => {
      events.push('gap');
      consumer.gap();
    },
  };
  s.syn(99);
  // 'GET /a-long' captured of a 20-byte segment: 9 bytes cut
  s.segment(100, Buffer.from('GET /a-lon', 'latin1'), 0, 10, false, 0, 10);
  assert.deepEqual(events, ['data 10', 'gap'], 'the gap is told before any later segment arrives');
  s.segment(120, Buffer.from('GET /next', 'latin1'), 0, 9, false, 0);
  // a cut FIN segment: its FIN sits past the bytes the capture lost
  s.segment(129, Buffer.from('xy', 'latin1'), 0, 2, true, 0, 3);
  assert.deepEqual(pieces(), ['GET /a-lon', 'GET /nextxy', '']);
  assert.equal(stats.outOfOrder, 0, 'the segment after the cut one is in order');
  assert.equal(stats.gaps, 2);
  assert.equal(s.finished, true, 'the FIN is counted after the cut bytes');
});
