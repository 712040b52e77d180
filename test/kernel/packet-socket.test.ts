import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { needs } from '../support/env.js';
import { createNamespace, deleteNamespace, runInNamespace } from './helpers/netns.js';

const child = fileURLToPath(new URL('./helpers/packet-child.js', import.meta.url));
const namespaces: string[] = [];
after(() => namespaces.forEach(deleteNamespace));

interface Seen {
  packets: {
    len: number;
    origLen: number;
    ifindex: number;
    pktType: number;
    ts: number;
    proto: number;
    dport: number;
  }[];
  stats: { packets: number; drops: number };
  after: number;
  now: number;
}

async function capture(tag: string, filter: string, ring = false): Promise<Seen> {
  const ns = createNamespace(tag);
  namespaces.push(ns);
  const out = await runInNamespace(ns, child, [
    JSON.stringify({ filter, count: 5, port: 9999, otherPort: 7777, ring }),
  ]);
  return JSON.parse(out) as Seen;
}

test('PacketSocket without a filter sees every datagram on lo, truncated to snaplen, with real lengths and timestamps', async (t) => {
  if (!needs(t, { root: true, tools: ['ip'] })) return;
  const r = await capture('pnone', 'none');
  assert.ok(r.packets.length >= 10, `saw ${r.packets.length} packets`);
  // Closed ports answer with ICMP port-unreachable: keep the UDP datagrams themselves.
  const udp = r.packets.filter((p) => p.proto === 17);
  const ports = new Set(udp.map((p) => p.dport));
  assert.ok(ports.has(9999) && ports.has(7777));
  for (const p of udp) {
    assert.equal(p.len, 128); // snaplen
    assert.equal(p.origLen, 14 + 20 + 8 + 300); // Ethernet + IPv4 + UDP + payload
    assert.equal(p.ifindex, 1); // lo
    assert.ok(Math.abs(p.ts - r.now) < 10, 'kernel timestamp is close to now');
  }
  assert.ok(r.stats.packets >= 10);
  assert.equal(r.after, -1);
});

test('PacketSocket with a classic BPF filter only sees the matching port', async (t) => {
  if (!needs(t, { root: true, tools: ['ip'] })) return;
  const r = await capture('pclassic', 'classic');
  // lo delivers each datagram twice to a packet socket (outgoing + incoming): at least count matches.
  assert.ok(r.packets.length >= 5, `saw ${r.packets.length}`);
  assert.deepEqual([...new Set(r.packets.map((p) => p.dport))], [9999]);
});

test('PacketSocket with an eBPF SOCKET_FILTER (SO_ATTACH_BPF) only sees the matching port', async (t) => {
  if (!needs(t, { root: true, tools: ['ip'] })) return;
  const r = await capture('pbpf', 'bpf');
  assert.ok(r.packets.length >= 5, `saw ${r.packets.length}`);
  assert.deepEqual([...new Set(r.packets.map((p) => p.dport))], [9999]);
  assert.deepEqual([...new Set(r.packets.map((p) => p.proto))], [17]);
});

for (const filter of ['none', 'classic', 'bpf'] as const) {
  test(`PacketSocket with a TPACKET_V3 ring (${filter} filter): same packets, lengths and timestamps`, async (t) => {
    if (!needs(t, { root: true, tools: ['ip'] })) return;
    const r = await capture(`pring${filter}`, filter, true);
    const udp = r.packets.filter((p) => p.proto === 17);
    if (filter === 'none') {
      assert.ok(r.packets.length >= 10, `saw ${r.packets.length} packets`);
      assert.deepEqual(new Set(udp.map((p) => p.dport)), new Set([9999, 7777]));
    } else {
      assert.ok(r.packets.length >= 5, `saw ${r.packets.length}`);
      assert.deepEqual([...new Set(r.packets.map((p) => p.dport))], [9999]);
    }
    for (const p of udp) {
      assert.equal(p.len, 128);
      assert.equal(p.origLen, 14 + 20 + 8 + 300);
      assert.equal(p.ifindex, 1);
      assert.ok(Math.abs(p.ts - r.now) < 10);
    }
    assert.equal(r.after, -1);
  });
}
