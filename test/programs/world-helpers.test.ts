/**
 * The helpers real tracing objects call (probe reads, snprintf, get_current_comm, dynptrs), VM against
 * kernel: test/programs/fixtures/world-helpers.c runs as socket filters in both engines and the `out`
 * map, return values and ring buffer records must be equal. VM-only checks of the values themselves keep
 * a regression visible without root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs, repoPath } from '../support/env.js';
import { frames } from './packets.js';
import { runOn, type Step } from './differential.js';
import { loadObjectFile } from '../../src/elf/index.js';

const committed = repoPath('test', 'programs', 'fixtures', 'world-helpers.o');
const cases: [string, Step[]][] = [
  ['probe_reads', [{ program: 'probe_reads', data: frames.http() }]],
  ['formats', [{ program: 'formats', data: frames.udpDns() }]],
  ['dynptrs', [{ program: 'dynptrs', data: frames.http() }]],
  ['cg_view', [{ program: 'cg_view', data: frames.http() }]],
  [
    'percpu',
    [
      { program: 'percpu', data: frames.http() },
      { program: 'percpu', data: frames.http() },
      ...(cpus().length > 1 ? [{ program: 'percpu', data: frames.http(), cpu: 1 }] : []),
    ],
  ],
];

function outValues(rows: string[]): bigint[] {
  const v: bigint[] = new Array<bigint>(64).fill(0n);
  for (const r of rows) {
    const [k, val] = r.split('=');
    v[Buffer.from(k!, 'hex').readUInt32LE(0)] = Buffer.from(val!, 'hex').readBigInt64LE(0);
  }
  return v;
}
const le8 = (s: string): bigint => Buffer.from(s.padEnd(8, '\0'), 'latin1').readBigInt64LE(0);

test('probe reads: good addresses copy, bad ones are -ERANGE / -EFAULT with the destination zeroed', async () => {
  const o = await runOn('vm', committed, cases[0]![1]);
  const v = outValues(o.maps.out!);
  assert.deepEqual(v.slice(0, 16), [
    0n,
    0x1122334455667788n,
    -34n, // probe_read_kernel(NULL): ERANGE, below the kernel's half
    0n,
    -14n, // probe_read_user(NULL): EFAULT
    0n,
    -14n, // a kernel address nothing maps
    0n,
    8n, // "bpfkit-" and the NUL
    le8('bpfkit-'),
    4n,
    le8('bpf\0it-'), // the earlier string's tail stays past the NUL
    -34n,
    0n,
    -14n,
    -34n, // size 0: the kernel still refuses an address outside its half
  ]);
});

test('cgroup_skb sees the packet from its network header; a run writes its CPU of a per-CPU map', async () => {
  const f = frames.http();
  const v = outValues((await runOn('vm', committed, cases[3]![1])).maps.out!);
  assert.deepEqual(v.slice(0, 6), [BigInt(f.length - 14), 8n, BigInt(f.length - 14), 0n, 0x45n, 0x45n]);
  assert.equal(v[8], 77n, 'mark is writable');
  const p = await runOn('vm', committed, cases[4]![1]);
  const slots = Buffer.from(p.maps.per_cpu![0]!.split('=')[1]!, 'hex');
  assert.equal(slots.readBigUInt64LE(0), 200n, 'two runs on CPU 0');
  if (cpus().length > 1) assert.equal(slots.readBigUInt64LE(8), 101n, 'one on CPU 1');
});

test('snprintf, get_current_comm and dynptrs in the VM', async () => {
  const f = outValues((await runOn('vm', committed, cases[1]![1])).maps.out!);
  const len = frames.udpDns().length;
  const line = `${len}:abc:beef`;
  assert.equal(f[0], BigInt(line.length + 1), 'the whole line plus its NUL');
  assert.equal(f[1], le8(line.slice(0, 7)), 'cut to 7 bytes and a NUL');
  assert.equal(f[3], 0n);
  assert.equal(f[4], le8('node'));
  assert.equal(f[6], le8('no\0e'), 'cut to 2 bytes and a NUL; the rest of the buffer untouched');
  const dyn = await runOn('vm', committed, cases[2]![1]);
  const d = outValues(dyn.maps.out!);
  const rec = Buffer.alloc(16);
  rec.writeBigUInt64LE(0x0102030405060708n, 0);
  rec.writeBigUInt64LE(BigInt(frames.http().length), 8);
  assert.deepEqual(dyn.events, { events: [rec.toString('hex')] }, 'the submitted record; the discarded one skipped');
  assert.deepEqual(d.slice(0, 15), [
    0n,
    0n,
    0n,
    0x0102030405060708n,
    0n, // [16, 24) is inside the 24-byte blob
    -22n,
    1n,
    1n,
    -22n,
    -22n,
    0n,
    0n,
    1n,
    0n,
    -22n,
  ]);
});

for (const [name, steps] of cases) {
  test(`world helpers: ${name} — VM and kernel agree`, { timeout: 60000 }, async (t) => {
    if (!needs(t, { root: true })) return;
    const vm = await runOn('vm', committed, steps);
    const kernel = await runOn('kernel', committed, steps);
    assert.deepEqual(vm, kernel);
  });
}

test('the committed world-helpers object matches its source', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-fixture-'));
  try {
    const inc = execFileSync('sh', ['-c', 'gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu'], {
      encoding: 'utf8',
    }).trim();
    const fresh = join(dir, 'world-helpers.o');
    const src = repoPath('test', 'programs', 'fixtures', 'world-helpers.c');
    execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-I', `/usr/include/${inc}`, '-c', src, '-o', fresh]);
    const a = loadObjectFile(committed);
    const b = loadObjectFile(fresh);
    assert.deepEqual(
      b.programs.map((p) => [p.name, p.insns]),
      a.programs.map((p) => [p.name, p.insns]),
      'rebuild world-helpers.o from world-helpers.c and commit it',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
