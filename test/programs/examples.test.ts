/**
 * The example programs (examples/*): what each computes in the VM, the same results from the kernel
 * (BPF_PROG_TEST_RUN through bpfkit's kernel engine) on the same frames, and the same again for objects
 * freshly built from the C sources when clang is present.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs, hasTool, repoPath, inCI } from '../support/env.js';
import { frames, hex } from './packets.js';
import { runOn, skbCtx, type Step } from './differential.js';
import { internetChecksum } from '../../src/vm/helpers/checksum.js';

const obj = (name: string, dir?: string) => (dir ? join(dir, `${name}.o`) : repoPath('examples', name, `${name}.o`));

let freshDir: string | undefined;
function fresh(): string | undefined {
  if (freshDir !== undefined) return freshDir || undefined;
  if (!hasTool('clang')) {
    if (inCI) assert.fail('clang is missing (CI=true: .ci/run must provide it)');
    freshDir = '';
    return undefined;
  }
  freshDir = mkdtempSync(join(tmpdir(), 'bpfkit-examples-'));
  execFileSync(process.execPath, ['scripts/build-examples.js', '--out', freshDir], { stdio: 'pipe' });
  process.on('exit', () => rmSync(freshDir!, { recursive: true, force: true }));
  return freshDir;
}

/** Objects to test: the committed one, and the fresh build. */
function objects(name: string): [string, string][] {
  const list: [string, string][] = [['committed', obj(name)]];
  const dir = fresh();
  if (dir) list.push(['fresh', obj(name, dir)]);
  return list;
}

const u64 = (h: string, at: number) => Buffer.from(h, 'hex').readBigUInt64LE(at);
const u32key = (n: number) => Buffer.from(new Uint32Array([n]).buffer).toString('hex');
const row = (rows: string[], key: string) => rows.find((r) => r.startsWith(`${key}=`))?.split('=')[1];

// ---------------------------------------------------------------- (a) proto-count

const protoSteps: Step[] = [
  { program: 'count_protocols', data: frames.http() },
  { program: 'count_protocols', data: frames.https() },
  { program: 'count_protocols', data: frames.udpDns() },
  { program: 'count_protocols', data: frames.icmp() },
  { program: 'count_protocols', data: frames.arp() },
  { program: 'count_protocols', data: frames.ipv6Tcp() },
];

test('proto-count counts packets and bytes per IP protocol (VM)', async () => {
  for (const [label, path] of objects('proto-count')) {
    const out = await runOn('vm', path, protoSteps);
    assert.deepEqual(
      out.results.map((r) => r.retval),
      [0, 0, 0, 0, 0, 0],
      label,
    );
    const rows = out.maps.proto_stats!;
    const tcp = row(rows, u32key(6))!;
    assert.equal(u64(tcp, 0), 2n, `${label}: two TCP packets`);
    assert.equal(u64(tcp, 8), BigInt(frames.http().length + frames.https().length), `${label}: TCP bytes`);
    assert.equal(u64(row(rows, u32key(17))!, 0), 1n);
    assert.equal(u64(row(rows, u32key(1))!, 0), 1n);
    const total = rows.reduce((n, r) => n + u64(r.split('=')[1]!, 0), 0n);
    assert.equal(total, 4n, `${label}: ARP and IPv6 are not counted`);
  }
});

// ---------------------------------------------------------------- (b) mark-stats

const markSteps: Step[] = [
  { program: 'cls_main', data: frames.http(), ctx: skbCtx({ mark: 7 }) },
  { program: 'cls_main', data: frames.udpDns(), ctx: skbCtx({ mark: 7 }) },
  { program: 'cls_main', data: frames.icmp(), ctx: skbCtx({ mark: 255 }) },
  { program: 'cls_main', data: frames.icmp(), ctx: skbCtx({ mark: 256 }) },
  { program: 'cls_main', data: frames.arp() },
];

test('mark-stats classifies into root:mark and keeps per-mark stats (VM)', async () => {
  for (const [label, path] of objects('mark-stats')) {
    const out = await runOn('vm', path, markSteps);
    assert.deepEqual(
      out.results.map((r) => r.retval),
      [0xffff0007, 0xffff0007, 0xffff00ff, 0, 0xffff0000],
      `${label}: TC_H_MAKE(TC_H_ROOT, mark), 0 for marks >= 256`,
    );
    const rows = out.maps.map_stats!;
    const m7 = row(rows, u32key(7))!;
    assert.equal(u64(m7, 0), 2n);
    assert.equal(u64(m7, 8), BigInt(frames.http().length + frames.udpDns().length));
    assert.equal(u64(row(rows, u32key(255))!, 0), 1n);
    assert.equal(u64(row(rows, u32key(0))!, 0), 1n);
  }
});

// ---------------------------------------------------------------- (c) port-demux

const demuxSteps: Step[] = [
  { program: 'lb_main', data: frames.http() },
  { program: 'lb_main', data: frames.https() },
  { program: 'lb_main', data: frames.httpWithOptions() },
  { program: 'lb_main', data: frames.udpDns() },
  { program: 'lb_main', data: frames.ipv6Tcp() },
];

/** Verify IPv4 header and TCP checksums of a frame (0 when correct). */
function tcpChecksumOk(frame: Uint8Array): boolean {
  const ihl = (frame[14]! & 0xf) * 4;
  const ip = frame.subarray(14, 14 + ihl);
  const seg = frame.subarray(14 + ihl);
  const pseudo = new Uint8Array(12 + seg.length);
  pseudo.set(ip.subarray(12, 20));
  pseudo[9] = 6;
  new DataView(pseudo.buffer).setUint16(10, seg.length);
  pseudo.set(seg, 12);
  return internetChecksum(pseudo) === 0 && internetChecksum(ip) === 0;
}

test('port-demux rewrites port 80 to 8080 with a correct TCP checksum (VM)', async () => {
  for (const [label, path] of objects('port-demux')) {
    const out = await runOn('vm', path, demuxSteps);
    assert.deepEqual(
      out.results.map((r) => r.retval | 0),
      [-1, 0, -1, 0, 0],
      label,
    );
    for (const i of [0, 2]) {
      const f = Buffer.from(out.results[i]!.data, 'hex');
      const ihl = (f[14]! & 0xf) * 4;
      assert.equal(f.readUInt16BE(14 + ihl + 2), 8080, `${label}: new destination port`);
      assert.ok(tcpChecksumOk(f), `${label}: checksum still valid after the rewrite`);
    }
    assert.equal(out.results[1]!.data, hex(frames.https()), 'other ports untouched');
  }
});

test('port-demux spreads over 8080-8087 by queue_mapping (a ctx field only the VM lets a test set)', async () => {
  const { loadObjectFile } = await import('../../src/elf/index.js');
  const { loadVmCollection } = await import('../../src/vm/collection.js');
  const c = loadVmCollection(loadObjectFile(obj('port-demux')), { cpus: 1 });
  for (const q of [0, 3, 7, 9]) {
    const ctx = new Uint8Array(192);
    ctx[12] = q;
    const r = c.program('lb_main').run({ data: frames.http(), ctx });
    const f = Buffer.from(r.data);
    assert.equal(f.readUInt16BE(14 + 20 + 2), 8080 + (q & 7));
    assert.ok(tcpChecksumOk(f));
  }
});

// ---------------------------------------------------------------- (d) tunnel-monitor

const tunnelSteps: Step[] = [
  { program: 'tunnel_entry', data: frames.vxlan(42) },
  { program: 'tunnel_entry', data: frames.vxlan(42) },
  { program: 'tunnel_entry', data: frames.vxlan(0x123456) },
  { program: 'tunnel_entry', data: frames.gre() },
  { program: 'tunnel_entry', data: frames.ipip() },
  { program: 'tunnel_entry', data: frames.ipv6Udp() },
  { program: 'tunnel_entry', data: frames.http() },
  { program: 'tunnel_entry', data: frames.arp() },
];

test('tunnel-monitor chains its stages through the prog array (VM)', async () => {
  for (const [label, path] of objects('tunnel-monitor')) {
    const out = await runOn('vm', path, tunnelSteps);
    assert.ok(
      out.results.every((r) => r.retval === 0),
      `${label}: TC_ACT_OK`,
    );
    const kinds = out.maps.kinds!.map((r) => u64(r.split('=')[1]!, 0));
    // other, ipv4, ipv6, vxlan, gre, ipip, tail-call failures
    assert.deepEqual(kinds, [1n, 6n, 1n, 4n, 1n, 1n, 0n], label);
    assert.equal(u64(row(out.maps.vni_packets!, u32key(42))!, 0), 2n);
    assert.equal(u64(row(out.maps.vni_packets!, u32key(0x123456))!, 0), 1n);
    assert.equal(u64(row(out.maps.vni_packets!, u32key(7))!, 0), 1n);
    assert.equal(u64(row(out.maps.gre_protocols!, u32key(0x0800))!, 0), 1n);
  }
});

// ---------------------------------------------------------------- the kernel agrees

const cases: [string, Step[]][] = [
  ['proto-count', protoSteps],
  ['mark-stats', markSteps],
  ['port-demux', demuxSteps],
  ['tunnel-monitor', tunnelSteps],
];

for (const [name, steps] of cases) {
  test(`${name}: the VM and the kernel return the same values, packets and maps`, { timeout: 60000 }, async (t) => {
    if (!needs(t, { root: true })) return;
    for (const [label, path] of objects(name)) {
      const vm = await runOn('vm', path, steps);
      const kernel = await runOn('kernel', path, steps);
      assert.deepEqual(vm, kernel, `${label} object`);
    }
  });
}
