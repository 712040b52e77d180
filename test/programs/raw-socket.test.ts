/**
 * The raw-socket view, end to end: proto-count is attached to a real AF_PACKET socket on the loopback of a
 * network namespace (the kernel runs it on every frame from its MAC header), while a second, unfiltered
 * socket records the same frames. Replaying those frames through the VM must leave the same counters the
 * kernel's program left — which only happens if the VM gives socket filters the MAC-header view too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { needs, repoPath } from '../support/env.js';
import { loadObjectFile } from '../../src/elf/index.js';
import { loadVmCollection } from '../../src/vm/collection.js';
import { dumpMaps } from './differential.js';

const dist = (p: string) => fileURLToPath(new URL(`../../src/${p}`, import.meta.url));

const child = `
const { loadObjectFile } = await import(${JSON.stringify(dist('elf/index.js'))});
const { loadKernelCollection } = await import(${JSON.stringify(dist('kernel/collection.js'))});
const { PacketSocket } = await import(${JSON.stringify(dist('kernel/packet-socket.js'))});
const net = await import('node:net');
const obj = process.argv[1], pin = process.argv[2];
const coll = loadKernelCollection(loadObjectFile(obj), { pinPath: pin });
const filtered = PacketSocket.open({ ifname: 'lo', ring: false });
filtered.attachBpf(coll.program('count_protocols').fd);
const all = PacketSocket.open({ ifname: 'lo', ring: false });
await new Promise((resolve) => {
  const srv = net.createServer((s) => s.on('data', () => s.end('HTTP/1.1 200 OK\\r\\n\\r\\n')));
  srv.listen(80, '127.0.0.1', () => {
    const c = net.connect(80, '127.0.0.1', () => c.write('GET / HTTP/1.1\\r\\n\\r\\n'));
    c.on('data', () => {}); c.on('end', () => { srv.close(); resolve(); });
  });
});
const dgram = await import('node:dgram');
const u = dgram.createSocket('udp4');
await new Promise((r) => u.send(Buffer.from('x'), 9999, '127.0.0.1', r));
u.close();
// Wait for events, not a time: the ICMP error for the datagram (the traffic's last packet) has been read,
// TCP has settled (no close in flight), and the filter's counters cover every IPv4 frame the other socket
// got (proto-count counts IPv4 only).
const { execFileSync } = await import('node:child_process');
const m = coll.map('proto_stats');
const counted = () => { let n = 0n; for (const k of m.keys()) n += Buffer.from(m.lookup(k)).readBigUInt64LE(0); return Number(n); };
const tcpSettled = () => execFileSync('ss', ['-Htan'], { encoding: 'utf8' }).split('\\n').filter((l) => l.trim()).every((l) => {
  const [state, , sendQ] = l.trim().split(/\\s+/);
  return ['LISTEN', 'ESTAB', 'TIME-WAIT', 'FIN-WAIT-2', 'CLOSE-WAIT'].includes(state) && (state === 'LISTEN' || sendQ === '0');
});
const isIpv4 = (d) => d[12] === 8 && d[13] === 0;
const isIcmp = (d) => isIpv4(d) && d[23] === 1;
const got = [];
for (const end = Date.now() + 20000; ; ) {
  got.push(...all.readAvailable().map((p) => p.data));
  if (got.some(isIcmp) && tcpSettled() && counted() === got.filter(isIpv4).length) break;
  if (Date.now() > end) throw new Error('gave up waiting for the traffic to be captured: ' + got.length + ' frames, ' + counted() + ' counted');
  await new Promise((r) => setTimeout(r, 20));
}
const frames = got.map((d) => Buffer.from(d).toString('hex'));
const rows = [];
for (const k of m.keys()) { const v = m.lookup(k); if (v.some((b) => b)) rows.push(Buffer.from(k).toString('hex') + '=' + Buffer.from(v).toString('hex')); }
console.log(JSON.stringify({ frames, rows: rows.sort(), filteredGot: filtered.readAvailable().length }));
filtered.close(); all.close(); coll.close();
`;

test(
  'a socket filter on a real AF_PACKET socket counts what the VM counts on the same frames',
  { timeout: 60000 },
  (t) => {
    if (!needs(t, { root: true, tools: ['ip'] })) return;
    const ns = `bpfkit-raw-${process.pid}`;
    const pin = `/sys/fs/bpf/bpfkit-raw-${process.pid}`;
    const obj = repoPath('examples', 'proto-count', 'proto-count.o');
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up', 'mtu', '1500']);
      const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', child, obj, pin], {
        encoding: 'utf8',
        timeout: 30000,
      });
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
        frames: string[];
        rows: string[];
        filteredGot: number;
      };
      assert.ok(got.frames.length >= 10, `frames seen: ${got.frames.length}`);
      assert.equal(got.filteredGot, 0, 'the filter returns 0: its socket receives nothing');
      const c = loadVmCollection(loadObjectFile(obj), { cpus: 1 });
      for (const f of got.frames) c.program('count_protocols').run({ data: Buffer.from(f, 'hex') });
      const vmRows = dumpMaps(c).proto_stats!.filter((row) => !/=0+$/.test(row));
      assert.deepEqual(vmRows, got.rows);
    } finally {
      spawnSync('ip', ['netns', 'del', ns]);
      spawnSync('rm', ['-rf', pin]);
    }
  },
);
