/**
 * Every link type and tunnel of issue 14, end to end: a small conversation set (IPv4 and IPv6, a request
 * split over segments, pipelined requests, a body that looks like a request) is wrapped by the corpus's
 * encapsulation rewrites (corpus/encap.ts), written as a capture, and `urls` in full mode must find
 * exactly the requests sent — with the eBPF filter in the VM in front (it must let tunnels through) and
 * without it. tshark, where it follows the encapsulation, must find them too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Conversation } from '../support/tcp-frames.js';
import { needs } from '../support/env.js';
import { ENCAPS, encapsulate } from './corpus/encap.js';
import { writePcapFrames, type Frame } from './corpus/pcap-out.js';
import { runUrls, tsharkRequests, missingFrom } from './support.js';
import { PacketView } from '../../src/packet/decode/packet-view.js';
import { IPPROTO } from '../../src/packet/decode/constants.js';

const dir = mkdtempSync(join(tmpdir(), 'bpfkit-encap-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** The conversations, and the requests they carry ("METHOD uri"). */
function conversations(): { frames: Frame[]; sent: string[] } {
  const sent: string[] = [];
  const all: Uint8Array[] = [];
  const hosts: [string, string][] = [
    ['10.1.0.1', '10.1.0.2'],
    ['fd00::1', 'fd00::2'],
  ];
  hosts.forEach(([client, server], h) => {
    const c = new Conversation(client, server, 41000 + h, 80, 5000 + h).handshake();
    c.clientSays('GET /enc/one HTTP/1.1\r\nHost: a\r\n\r\n');
    c.serverSays('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    c.clientSays('POST /enc/form HTTP/1.1\r\nContent-Length: 26\r\n\r\n', 'GET /enc/FAKE HTTP/1.1\r\n\r\n');
    c.serverSays('HTTP/1.1 204 No Content\r\n\r\n');
    c.clientSays(
      'GET /enc/sp',
      'lit?x=1 HTTP/1.1\r\n\r\nGET /enc/pipe/0 HTTP/1.1\r\n\r\nGET /enc/pipe/1 HTTP/1.1\r\n\r\n',
    );
    c.close();
    all.push(...c.frames);
    sent.push('GET\t/enc/one', 'POST\t/enc/form', 'GET\t/enc/split?x=1', 'GET\t/enc/pipe/0', 'GET\t/enc/pipe/1');
  });
  return { frames: all.map((data, i) => ({ tsSec: 1_700_000_000, tsUsec: i * 10, data })), sent };
}

const { frames, sent } = conversations();

for (const name of Object.keys(ENCAPS)) {
  test(`${name}: every request found through the encapsulation, filter on and off`, async () => {
    const { linktype, frames: wrapped } = encapsulate(name, frames);
    const file = join(dir, `${name}.pcap`);
    writePcapFrames(file, linktype, wrapped);
    // The decoder reaches the innermost TCP header of every frame.
    const v = new PacketView();
    for (const f of wrapped) {
      v.decode(f.data, linktype);
      assert.equal(v.proto, IPPROTO.TCP, `${name}: ${v.layers().join(' ')} ${v.undecodedName()}`);
      assert.ok(v.srcPort === 80 || v.dstPort === 80, name);
      assert.ok(!v.truncated && !v.malformed, name);
    }
    for (const engine of ['vm', 'none'] as const) {
      const { records, summary } = await runUrls(file, 'full', engine);
      const got = records.map((r) => `${r.method}\t${r.uri}`).sort();
      assert.deepEqual(got, [...sent].sort(), `${name}/${engine}`);
      assert.equal(summary.extra['undecoded frames'] ?? 0, 0);
    }
  });
}

test('tshark, where it follows the encapsulation, finds the same requests', (t) => {
  if (!needs(t, { tools: ['tshark'] })) return;
  for (const [name, e] of Object.entries(ENCAPS)) {
    if (e.tsharkCannot) continue;
    const theirs = tsharkRequests(join(dir, `${name}.pcap`));
    // tshark takes the body that looks like a request for one (no framing of the POST body across segments)
    const real = theirs.filter((x) => !x.includes('FAKE'));
    assert.deepEqual(missingFrom(real, sent), [], `${name}: tshark missed`);
    assert.deepEqual(missingFrom(sent, real), [], `${name}: tshark found more`);
  }
});

test('the decoder records the outer headers, innermost tunnel id and depth', () => {
  const v = new PacketView();
  const { linktype, frames: n } = encapsulate('nested', frames.slice(0, 1));
  v.decode(n[0]!.data, linktype);
  assert.deepEqual(v.layers(), [
    'ETHERNET',
    'VLAN',
    'VLAN',
    'VLAN',
    'PPPOE',
    'PPP',
    'MPLS',
    'IPV4',
    'GRE',
    'IPV4',
    'UDP',
    'VXLAN',
    'ETHERNET',
    'IPV4',
  ]);
  assert.equal(v.vlanCount, 3);
  assert.equal(v.pppoeSession, 7);
  assert.equal(v.mplsLabel, 16);
  assert.equal(v.tunnelId, 9);
  assert.equal(v.encapDepth, 3);
  assert.equal(v.srcAddr(), '10.1.0.1');
  assert.ok(v.outerL3Offset >= 0 && v.outerL3Offset < v.l3Offset);
});
