/**
 * `bpfkit run`: one packet, a capture, raw memory; JSON and text output; the kernel engine giving the same
 * JSON; and clear usage errors. Plus load-time refusals of helpers a program type may not call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs, repoPath } from '../support/env.js';
import { frames, hex } from './packets.js';
import { loadVmCollection } from '../../src/vm/collection.js';
import { VmError } from '../../src/vm/vm-error.js';
import { makeInsn, BPF_JMP, BPF_CALL, BPF_EXIT, BPF_ALU64, BPF_MOV, BPF_K } from '../../src/isa/index.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { ProgType } from '../../src/uapi/types.js';
import { cliScript } from '../support/cli-script.js';

const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function bpfkit(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ['-e', cliScript(mainJs), '--', ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('run --mem --json: port-demux rewrites port 80', () => {
  const r = bpfkit('run', 'examples/port-demux/port-demux.o', '--mem', hex(frames.http()), '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.results.length, 1);
  assert.equal(j.results[0].retval, 0xffffffff);
  assert.equal(Buffer.from(j.results[0].packet, 'hex').readUInt16BE(14 + 20 + 2), 8080);
  assert.deepEqual(j.maps, {});
});

test('run --pcap: every packet in order, maps keep state; text output names the verdicts', () => {
  const pcap = repoPath('test', 'fixtures', 'packet', 'lo-http.pcap');
  const j = JSON.parse(bpfkit('run', 'examples/proto-count/proto-count.o', '--pcap', pcap, '--json').out);
  assert.ok(j.results.length > 10);
  const tcp = j.maps.proto_stats.find((r: { key: string }) => r.key === '06000000');
  const ipv4 = j.results.filter(
    (r: { packet: string }) => r.packet.slice(24, 28) === '0800' && r.packet.slice(46, 48) === '06',
  ).length;
  assert.equal(Number(Buffer.from(tcp.value, 'hex').readBigUInt64LE(0)), ipv4, 'one count per IPv4/TCP packet');
  const text = bpfkit(
    'run',
    'examples/mark-stats/mark-stats.o',
    '--mem',
    hex(frames.udpDns()),
    '--ctx',
    hex(new Uint8Array(192).fill(0).map((_, i) => (i === 8 ? 9 : 0))),
  );
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /retval 4294901769 \(0xffff0009, classid ffff:9\)/);
  assert.match(
    text.out,
    /map map_stats \(array, 256 entries, 255 all-zero not shown\)\n {2}09000000: 0100000000000000/,
  );
});

test('run --packet FILE --repeat N reports ns per run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-run-'));
  try {
    const f = join(dir, 'pkt.bin');
    writeFileSync(f, frames.http());
    const r = bpfkit(
      'run',
      'examples/tunnel-monitor/tunnel-monitor.o',
      '--program',
      'tunnel_entry',
      '--packet',
      f,
      '--repeat',
      '50',
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /retval 0 \(0x0, TC_ACT_OK \/ no match\), [\d.]+ ns\/run/);
    assert.match(r.out, /01000000: 3200000000000000/, 'the IPv4 counter counted 50 runs');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run --json lists ring buffer records and perf event samples under "events"', () => {
  const f = frames.http();
  const j = JSON.parse(
    bpfkit('run', 'test/programs/fixtures/helpers.o', '--program', 'tc_events', '--mem', hex(f), '--json').out,
  );
  assert.deepEqual(j.events.events, [Buffer.from(new Uint32Array([f.length, 8]).buffer).toString('hex'), 'eeffc000']);
  assert.deepEqual(j.events.samples, [`cpu0:eeffc000${hex(f.subarray(0, 14))}`]);
});

test('run --engine kernel gives the trace lines and ring buffer records the VM gives', (t) => {
  if (!needs(t, { root: true })) return;
  const f = hex(frames.http());
  const obj = 'test/programs/fixtures/helpers.o';
  for (const program of ['sock_trace', 'tc_events']) {
    const [vm, kernel] = ['vm', 'kernel'].map((engine) => {
      const r = bpfkit('run', obj, '--program', program, '--mem', f, '--json', '--engine', engine);
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out) as { trace?: string[]; events?: Record<string, string[]> };
      return { trace: j.trace, events: j.events?.events };
    });
    assert.deepEqual(kernel, vm, program);
  }
});

test('run shows prog-array values as program names, in both engines', (t) => {
  const mem = '00'.repeat(60);
  const obj = 'examples/tunnel-monitor/tunnel-monitor.o';
  const engines = needs(t, { root: true }) ? ['vm', 'kernel'] : ['vm'];
  const seen = engines.map((engine) => {
    const r = bpfkit('run', obj, '--program', 'tunnel_entry', '--mem', mem, '--json', '--engine', engine);
    assert.equal(r.code, 0, r.err);
    const maps = (JSON.parse(r.out) as { maps: Record<string, { key: string; value: string }[]> }).maps;
    return Object.values(maps).find((rows) => rows.some((row) => row.value === 'parse_gre'));
  });
  assert.ok(seen[0], 'a prog array listed by program name');
  for (const s of seen) assert.deepEqual(s, seen[0]);
});

test('run: usage and input errors exit 2 with one clear line', () => {
  let r = bpfkit('run', 'examples/tunnel-monitor/tunnel-monitor.o', '--mem', '00');
  assert.equal(r.code, 2);
  assert.match(r.err, /5 programs \(.*tunnel_entry\); choose one with --program/);
  r = bpfkit('run', 'examples/port-demux/port-demux.o');
  assert.equal(r.code, 2);
  assert.match(r.err, /exactly one of --packet FILE, --pcap FILE, --mem HEX/);
  r = bpfkit('run', 'examples/port-demux/port-demux.o', '--mem', 'xyz');
  assert.equal(r.code, 2);
  r = bpfkit('run', 'examples/port-demux/port-demux.o', '--pcap', 'no/such.pcap');
  assert.equal(r.code, 2);
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
});

test('run --engine kernel prints the same JSON as the VM', (t) => {
  if (!needs(t, { root: true })) return;
  const pcap = repoPath('test', 'fixtures', 'packet', 'lo-http.pcap');
  for (const ex of ['proto-count', 'port-demux']) {
    const obj = `examples/${ex}/${ex}.o`;
    const vm = bpfkit('run', obj, '--pcap', pcap, '--json');
    const k = bpfkit('run', obj, '--pcap', pcap, '--json', '--engine', 'kernel');
    assert.equal(k.code, 0, k.err);
    assert.deepEqual(JSON.parse(vm.out), JSON.parse(k.out), ex);
  }
  // hash maps come out sorted by key from both engines; prog arrays hold handles (VM) vs ids (kernel)
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-run-'));
  try {
    const f = join(dir, 'vx.bin');
    writeFileSync(f, frames.vxlan(9));
    const args = [
      'run',
      'examples/tunnel-monitor/tunnel-monitor.o',
      '--program',
      'tunnel_entry',
      '--packet',
      f,
      '--repeat',
      '3',
      '--json',
    ];
    const vm = JSON.parse(bpfkit(...args).out);
    const k = JSON.parse(bpfkit(...args, '--engine', 'kernel').out);
    for (const j of [vm, k]) {
      delete j.maps.stages;
      for (const r of j.results) delete r.durationNs;
    }
    assert.deepEqual(vm, k);
    assert.deepEqual(vm.maps.vni_packets, [{ key: '09000000', value: '0300000000000000' }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function specCalling(helper: number, type: number): ObjectSpec {
  const insns = [
    makeInsn({ pc: 0, code: BPF_ALU64 | BPF_MOV | BPF_K, dst: 0, imm: 0 }),
    makeInsn({ pc: 1, code: BPF_JMP | BPF_CALL, imm: helper }),
    makeInsn({ pc: 2, code: BPF_JMP | BPF_EXIT }),
  ];
  return {
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps: [],
    programs: [{ name: 'p', section: 's', type, insns, mapRefs: [], license: 'GPL', kernelVersion: 0 }],
  };
}

test('a helper the program type may not call, or the VM lacks, is refused at load with its name', () => {
  assert.throws(
    () => loadVmCollection(specCalling(9, ProgType.XDP), { cpus: 1 }),
    (e: unknown) => e instanceof VmError && /may not call bpf_skb_store_bytes \(9\)/.test(e.message),
  );
  assert.throws(
    () => loadVmCollection(specCalling(9, ProgType.SOCKET_FILTER), { cpus: 1 }),
    /socket_filter\) may not call bpf_skb_store_bytes/,
  );
  assert.throws(
    () => loadVmCollection(specCalling(44, ProgType.SCHED_CLS), { cpus: 1 }),
    /may not call bpf_xdp_adjust_head \(44\)/,
  );
  assert.throws(
    () => loadVmCollection(specCalling(69, ProgType.XDP), { cpus: 1 }),
    /bpf_fib_lookup \(69\), which the VM does not implement/,
  );
  assert.doesNotThrow(() => loadVmCollection(specCalling(9, ProgType.SCHED_ACT), { cpus: 1 }));
  assert.throws(
    () => loadVmCollection({ ...specCalling(5, ProgType.XDP), endian: 'big' }, { cpus: 1 }),
    /big-endian but the VM runs little-endian programs/,
  );
});

test('run --pcap on a truncated capture: every whole packet is run and reported, then the fault, exit 2', () => {
  const pcap = repoPath('test', 'fixtures', 'packet', 'lo-http.pcap');
  const whole = JSON.parse(bpfkit('run', 'examples/proto-count/proto-count.o', '--pcap', pcap, '--json').out);
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-run-'));
  try {
    const bytes = readFileSync(pcap);
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const r = bpfkit('run', 'examples/proto-count/proto-count.o', '--pcap', cut, '--json');
    assert.equal(r.code, 2);
    assert.match(r.err, /cut\.pcap@\d+: .*truncated/);
    assert.doesNotMatch(r.err, /\n\s+at /);
    const j = JSON.parse(r.out);
    assert.ok(
      j.results.length > 0 && j.results.length < whole.results.length,
      `${j.results.length} of ${whole.results.length}`,
    );
    assert.deepEqual(j.results, whole.results.slice(0, j.results.length));
    assert.ok('proto_stats' in j.maps);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A little-endian pcap of `linktype` holding `records` (microsecond timestamps). */
function pcapOf(linktype: number, records: Uint8Array[]): Uint8Array {
  const out = Buffer.alloc(24 + records.reduce((n, r) => n + 16 + r.length, 0));
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(65535, 16);
  out.writeUInt32LE(linktype, 20);
  let at = 24;
  for (const r of records) {
    out.writeUInt32LE(r.length, at + 8);
    out.writeUInt32LE(r.length, at + 12);
    out.set(r, at + 16);
    at += 16 + r.length;
  }
  return out;
}

test('run --pcap: a record the link type cannot hold is located by its byte offset, like every capture error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-run-'));
  try {
    const sll = new Uint8Array(16 + 20);
    sll[14] = 0x08; // protocol 0x0800 at 14, then a (zero) IPv4 header
    const file = join(dir, 'sll.pcap');
    writeFileSync(file, pcapOf(113, [sll, new Uint8Array(10)]));
    let r = bpfkit('run', 'examples/proto-count/proto-count.o', '--pcap', file, '--json');
    assert.equal(r.code, 2);
    // The second record's data starts after the file header, record 1 and record 2's header.
    const second = 24 + 16 + sll.length + 16;
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(
      r.err,
      new RegExp(`sll\\.pcap@${second} \\(packet 2\\): Linux cooked \\(SLL\\) record shorter than its header`),
    );
    assert.equal(JSON.parse(r.out).results.length, 1, 'the whole packet before it is still run');

    const other = join(dir, 'other.pcap');
    writeFileSync(other, pcapOf(147, [new Uint8Array(40)]));
    r = bpfkit('run', 'examples/proto-count/proto-count.o', '--pcap', other);
    assert.equal(r.code, 2);
    assert.match(r.err, /other\.pcap@40 \(packet 1\): link type 147 is not supported/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run refuses the VM-only --cpus and --no-verify with --engine kernel, which would ignore them', () => {
  // before: the kernel run went ahead (its own CPU count, its own verifier) as if the flag were not there
  for (const [flags, message] of [
    [['--cpus', '4'], /^bpfkit run: --cpus applies to the VM engine only\n$/],
    [['--no-verify'], /^bpfkit run: --no-verify applies to the VM engine only/],
  ] as const) {
    const r = bpfkit('run', 'examples/port-demux/port-demux.o', '--engine', 'kernel', '--mem', '00', ...flags);
    assert.equal(r.code, 2, flags.join(' '));
    assert.match(r.err, message);
  }
});
