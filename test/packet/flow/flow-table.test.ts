// TcpFlowTable on its own: one flow per connection for both directions, and every way a flow ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TcpFlow,
  TcpFlowTable,
  newFlowTableStats,
  type FlowTableOptions,
} from '../../../src/packet/flow/flow-table.js';
import { formatFlowAddr } from '../../../src/packet/flow/flow-key.js';
import { PacketView } from '../../../src/packet/decode/packet-view.js';
import { Conversation, tcpFrame, ACK, RST, SYN } from '../../support/tcp-frames.js';

class TextFlow extends TcpFlow {
  fromA = '';
  fromB = '';
}

function table(opts: Partial<FlowTableOptions> = {}) {
  const closed: TextFlow[] = [];
  const syns: string[] = [];
  const stats = newFlowTableStats();
  const t: TcpFlowTable<TextFlow> = new TcpFlowTable<TextFlow>(
    { idleTimeoutSec: 60, maxFlows: 100, maxStreamBuffer: 1 << 16, maxBufferedBytes: 1 << 20, ...opts },
    {
      create: (key, ends): TextFlow => {
        const f = new TextFlow(key, ends, stats.stream, 1 << 16);
        const text = (b: Uint8Array, s: number, e: number) => Buffer.from(b.subarray(s, e)).toString('latin1');
        f.a.consumer = { data: (b, s, e) => (f.fromA += text(b, s, e)), gap: () => {} };
        f.b.consumer = { data: (b, s, e) => (f.fromB += text(b, s, e)), gap: () => {} };
        return f;
      },
      syn: (_f, fromA, synAck) => syns.push(`${fromA ? 'A' : 'B'}${synAck ? ' syn-ack' : ' syn'}`),
      closed: (f) => closed.push(f),
    },
    stats,
  );
  const v = new PacketView();
  const feed = (frames: Uint8Array[], t0 = 1000) => frames.forEach((f, i) => t.segment(v.decode(f, 1), t0 + i));
  return { t, closed, syns, feed };
}

test('both directions of a connection share one flow; endpoint A is the one that sorts first', () => {
  const { t, closed, syns, feed } = table();
  const c = new Conversation('10.0.0.9', '10.0.0.2', 40000, 80).handshake();
  c.clientSays('GET / HTTP/1.1\r\n\r\n');
  c.serverSays('HTTP/1.1 200 OK\r\n\r\n');
  feed(c.frames);
  assert.equal(t.size, 1);
  assert.deepEqual(syns, ['B syn', 'A syn-ack'], 'the server (10.0.0.2) is A');
  const [flow] = t.active();
  assert.equal(formatFlowAddr(4, flow!.ends.addrA), '10.0.0.2');
  assert.equal(flow!.ends.portB, 40000);
  assert.equal(flow!.fromB, 'GET / HTTP/1.1\r\n\r\n');
  assert.equal(flow!.fromA, 'HTTP/1.1 200 OK\r\n\r\n');
  assert.equal(flow!.sawHandshake, true);
  assert.equal(closed.length, 0);
  assert.deepEqual([t.stats.tcpSegments, t.stats.sessions], [4, 1]);
});

test('FIN both ways closes the flow; a late retransmission does not open it again', () => {
  const { t, closed, feed } = table();
  const c = new Conversation().handshake();
  const [req] = c.clientSays('GET /once HTTP/1.1\r\n\r\n');
  c.close();
  feed(c.frames);
  assert.equal(closed.length, 1);
  assert.equal(t.size, 0);
  feed([req!], 2000);
  assert.equal(t.size, 0, 'the copy is recognised as old');
  assert.equal(t.stats.stream.retransmitted, 1);
  assert.equal(t.stats.sessions, 1);
});

test('a RST closes at once; a bare ACK of an unknown connection opens nothing', () => {
  const { t, closed, feed } = table();
  feed([tcpFrame({ seq: 5, flags: ACK })]);
  assert.equal(t.size, 0);
  feed([tcpFrame({ seq: 5, payload: 'data' }), tcpFrame({ seq: 9, flags: RST })]);
  assert.equal(closed.length, 1);
  assert.equal(closed[0]!.rst, true);
  assert.equal(closed[0]!.fromA, 'data', 'what was held is delivered before the owner hears of it');
});

test('a new SYN on a tracked 4-tuple (port reuse) closes the old connection and opens a new one', () => {
  const { t, closed, feed } = table();
  feed([tcpFrame({ seq: 100, flags: SYN }), tcpFrame({ seq: 101, payload: 'old' })]);
  feed([tcpFrame({ seq: 5000, flags: SYN }), tcpFrame({ seq: 5001, payload: 'new' })], 2000);
  assert.equal(closed.length, 1);
  assert.equal(closed[0]!.fromA, 'old');
  assert.equal(t.active()[0]!.fromA, 'new');
  assert.equal(t.stats.sessions, 2);
});

test('a full table evicts its oldest flow; idle flows go at the sweep', () => {
  const { t, closed, feed } = table({ maxFlows: 3, idleTimeoutSec: 60 });
  feed([1, 2, 3, 4].map((i) => tcpFrame({ sport: 1000 + i, seq: 1, payload: `flow ${i}` })));
  assert.equal(t.size, 3);
  assert.deepEqual(
    closed.map((f) => f.fromA),
    ['flow 1'],
  );
  feed([tcpFrame({ sport: 1004, seq: 7, payload: '!' })], 1050);
  t.sweep(1070);
  assert.deepEqual(
    closed.map((f) => f.fromA),
    ['flow 1', 'flow 2', 'flow 3'],
    'idle past 60 s at t=1070',
  );
  assert.equal(t.stats.evicted, 3);
  t.closeAll();
  assert.equal(closed[3]!.fromA, 'flow 4!');
  assert.equal(t.size, 0);
});

test('IPv6 connections are keyed by their 128-bit addresses', () => {
  const { t, closed, feed } = table();
  feed([
    tcpFrame({ src: '2001:db8::1', dst: '2001:db8::2', sport: 40000, seq: 1, payload: 'x' }),
    tcpFrame({ src: '2001:db8::2', dst: '2001:db8::1', sport: 80, dport: 40000, seq: 9, payload: 'y' }),
    tcpFrame({ src: '2001:db8::1', dst: '2001:db8::3', sport: 40000, seq: 1, payload: 'z' }),
  ]);
  assert.equal(t.size, 2);
  t.closeAll(); // (no handshake: the streams deliver once they know where they start, at the latest now)
  const flow = closed.find((f) => f.fromB === 'y')!;
  assert.equal(formatFlowAddr(6, flow.ends.addrA), '2001:db8::1');
  assert.equal(flow.fromA, 'x');
});

test('over its memory, the table evicts SYN-only flows first, then the flow idle longest', () => {
  // Costs: 10 bytes quiet, 100 with data; room for 250 bytes.
  const { t, closed, feed } = table({ maxFlowMemory: 250, quietFlowCost: 10, flowCost: 100 });
  feed([tcpFrame({ sport: 1, seq: 1, payload: 'one' }), tcpFrame({ sport: 2, seq: 1, payload: 'two' })]);
  feed([3, 4, 5].map((p) => tcpFrame({ sport: p, seq: 1, flags: SYN })));
  feed([tcpFrame({ sport: 1, seq: 4, payload: '!' })]); // flow 1 used last: flow 2 is now the idlest
  assert.equal(t.memory, 230);
  // Flow 6 carries data: 330 bytes needed. The three SYN-only flows go first (oldest first), then the one
  // idle longest (flow 2: flow 1 was used after it).
  feed([tcpFrame({ sport: 6, seq: 1, payload: 'six' })]);
  assert.deepEqual(
    closed.map((f) => f.fromA || f.ends.portA),
    [3, 4, 5, 'two'],
  );
  feed([tcpFrame({ sport: 7, seq: 1, payload: 'seven' })]);
  assert.equal(closed.at(-1)!.fromA, 'one!', 'then flow 1, now the idlest');
  assert.equal(t.stats.evictedQuiet, 3);
  assert.ok(t.memory <= 250);
});
