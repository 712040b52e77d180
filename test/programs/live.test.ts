/**
 * Real traffic: packets captured with tcpdump on the loopback of a throwaway network namespace (HTTP over
 * IPv4 and IPv6, VXLAN-encapsulated UDP, a datagram to a closed port and its ICMP error) are run through
 * the examples in the VM and in the kernel; results and maps must be equal. The port demultiplexer's
 * rewritten packets are checked by tshark, which must find their TCP checksums good.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs, hasTool, repoPath } from '../support/env.js';
import { stderrLine, tcpSettled, tcpdumpCaughtUp, waitUntil } from '../support/live-wait.js';
import { openCapture } from '../../src/packet/capture-reader.js';
import { createCaptureWriter } from '../../src/packet/capture-writer.js';
import { runOn, type Step } from './differential.js';
import { internetChecksum } from '../../src/vm/helpers/checksum.js';

const traffic = `
const net = require('node:net'), dgram = require('node:dgram');
const vxlan = (vni) => { const inner = Buffer.alloc(54); inner[12] = 8; inner[14] = 0x45; inner[23] = 6;
  const h = Buffer.alloc(8); h[0] = 8; h.writeUIntBE(vni, 4, 3); return Buffer.concat([h, inner]); };
async function http(host) {
  await new Promise((resolve, reject) => {
    const srv = net.createServer((s) => s.on('data', () => s.end('HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok')));
    srv.listen(80, host, () => {
      const c = net.connect(80, host, () => c.write('GET /index.html HTTP/1.1\\r\\nHost: test\\r\\n\\r\\n'));
      c.on('data', () => {}); c.on('end', () => { srv.close(); resolve(); }); c.on('error', reject);
    });
  });
}
(async () => {
  await http('127.0.0.1');
  await http('::1');
  const u = dgram.createSocket('udp4');
  for (const vni of [42, 42, 7]) await new Promise((r) => u.send(vxlan(vni), 4789, '127.0.0.1', r));
  await new Promise((r) => u.send(Buffer.from('nobody listens'), 9999, '127.0.0.1', r));
  u.close();
})().catch((e) => { console.error(e); process.exit(1); });
`;

let captured: Uint8Array[] | undefined;

/** A copy of an Ethernet/IPv4/TCP frame with its TCP checksum computed; other frames unchanged. */
function withTcpChecksum(frame: Uint8Array): Uint8Array {
  if (frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00 || frame[23] !== 6) return frame;
  const f = frame.slice();
  const ihl = (f[14]! & 0xf) * 4;
  const totalLen = (f[16]! << 8) | f[17]!;
  const seg = f.subarray(14 + ihl, 14 + totalLen);
  seg[16] = seg[17] = 0;
  const pseudo = new Uint8Array(12 + seg.length);
  pseudo.set(f.subarray(26, 34));
  pseudo[9] = 6;
  pseudo[10] = seg.length >> 8;
  pseudo[11] = seg.length & 0xff;
  pseudo.set(seg, 12);
  const c = internetChecksum(pseudo);
  seg[16] = c >> 8;
  seg[17] = c & 0xff;
  return f;
}

/** Whether the pcap file (tcpdump's, host byte order) holds an Ethernet/IPv4 ICMP port-unreachable yet. */
function hasPortUnreachable(file: string): boolean {
  const b = readFileSync(file);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const le = b.length >= 4 && dv.getUint32(0, true) === 0xa1b2c3d4;
  for (let at = 24; at + 16 <= b.length;) {
    const caplen = dv.getUint32(at + 8, le);
    const f = b.subarray(at + 16, at + 16 + caplen);
    at += 16 + caplen;
    if (f.length < 36 || f[12] !== 0x08 || f[13] !== 0x00 || f[23] !== 1) continue;
    const icmp = 14 + (f[14]! & 0xf) * 4;
    if (f[icmp] === 3 && f[icmp + 1] === 3) return true;
  }
  return false;
}

/** Capture the traffic once for all tests of this file. */
async function capture(): Promise<Uint8Array[]> {
  if (captured) return captured;
  const ns = `bpfkit-prog-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-live-'));
  const file = join(dir, 'lo.pcap');
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up', 'mtu', '1500']);
    const dump = spawn(
      'ip',
      ['netns', 'exec', ns, 'tcpdump', '-Z', 'root', '--immediate-mode', '-B', '65536', '-i', 'lo', '-U', '-w', file],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let dumpErr = '';
    dump.stderr.on('data', (d: Buffer) => (dumpErr += d.toString()));
    await stderrLine(dump, /listening on/, 'tcpdump');
    execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', traffic], { timeout: 20000 });
    // Every connection closed and acknowledged, then tcpdump has written all its socket received: SIGINT
    // stops it at once, and on a loaded machine it was seen 9 packets behind.
    await waitUntil('TCP in the namespace to settle', () => tcpSettled(ns));
    await tcpdumpCaughtUp(dump, () => dumpErr);
    // The counters alone were seen to pass with 16 of ~25 packets written under load: the ICMP error to
    // the last datagram is the last packet the traffic makes, and tcpdump writes in order (-U: each at once).
    await waitUntil('tcpdump to write the ICMP port-unreachable', () => hasPortUnreachable(file));
    dump.kill('SIGINT');
    await new Promise((r) => dump.on('exit', r));
    if (process.env.DEBUG_LIVE) console.error('tcpdump:', dumpErr);
    const reader = await openCapture(file);
    const frames: Uint8Array[] = [];
    for await (const p of reader) frames.push(p.data);
    await reader.close();
    captured = frames;
    return frames;
  } finally {
    spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
      .stdout?.split('\n')
      .filter(Boolean)
      .forEach((pid) => spawnSync('kill', [pid]));
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}

const programs: [string, string][] = [
  ['proto-count', 'count_protocols'],
  ['port-demux', 'lb_main'],
  ['tunnel-monitor', 'tunnel_entry'],
  ['mark-stats', 'cls_main'],
];

for (const [example, program] of programs) {
  test(`${example} on captured loopback traffic: VM and kernel agree`, { timeout: 120000 }, async (t) => {
    if (!needs(t, { root: true, tools: ['tcpdump', 'ip'] })) return;
    const frames = await capture();
    assert.ok(frames.length >= 20, `captured ${frames.length} packets`);
    const steps: Step[] = frames.map((data) => ({ program, data }));
    const obj = repoPath('examples', example, `${example}.o`);
    const vm = await runOn('vm', obj, steps);
    const kernel = await runOn('kernel', obj, steps);
    assert.deepEqual(vm, kernel);
    if (example === 'tunnel-monitor') {
      const vni = vm.maps.vni_packets!;
      assert.ok(
        vni.some((r) => r.startsWith('2a000000=02')),
        `VXLAN VNI 42 seen twice: ${vni}`,
      );
    }
  });
}

test('port-demux rewrites captured HTTP requests with checksums tshark accepts', { timeout: 120000 }, async (t) => {
  if (!needs(t, { root: true, tools: ['tcpdump', 'ip', 'tshark'] })) return;
  // Loopback hands tcpdump CHECKSUM_PARTIAL packets (only the pseudo-header sum is in the field, and lo's
  // offload cannot be turned off), so complete the checksums first: the program must keep them correct.
  const frames = (await capture()).map(withTcpChecksum);
  const out = await runOn(
    'vm',
    repoPath('examples', 'port-demux', 'port-demux.o'),
    frames.map((data) => ({ program: 'lb_main', data })),
  );
  const rewritten = out.results.filter((r) => (r.retval | 0) === -1).map((r) => Buffer.from(r.data, 'hex'));
  assert.ok(rewritten.length >= 4, `IPv4 packets to port 80 were rewritten (${rewritten.length})`);
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-demux-'));
  try {
    const file = join(dir, 'rewritten.pcap');
    const w = createCaptureWriter(file);
    for (const data of [...rewritten, ...frames.slice(0, 4)]) w.write({ tsSec: 1, tsNsec: 0, data });
    w.close();
    assert.ok(existsSync(file) && readFileSync(file).length > 24);
    const fields = execFileSync(
      'tshark',
      ['-r', file, '-o', 'tcp.check_checksum:TRUE', '-T', 'fields', '-e', 'tcp.dstport', '-e', 'tcp.checksum.status'],
      { encoding: 'utf8' },
    )
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    const mine = fields.slice(0, rewritten.length);
    assert.ok(
      mine.every(([port]) => port === '8080'),
      `new destination port: ${mine.map((f) => f[0])}`,
    );
    // tshark: 1 = good, 0 = bad, 2 = not verified
    assert.ok(
      mine.every(([, status]) => status === '1'),
      `checksum status of rewritten packets: ${mine.map((f) => f[1])}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  void hasTool;
});
