/**
 * A program whose map no kernel would create as the object has it (a zero size a tool's loader sets at run
 * time) gets no verdict: the load fails before the verifier runs, and the verdict after depends on the
 * size picked. `bpfkit verify --max-entries N` sizes such maps as the tool would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseObject } from '../../src/elf/object.js';
import { verifyProgram } from '../../src/verifier/index.js';
import { MapType } from '../../src/uapi/types.js';
import { needs } from '../support/env.js';

const bytes = readFileSync('test/fixtures/elf/basic.o');

test('a program using a map with max_entries or value_size 0 is not modelled, naming the map; others are judged', () => {
  const spec = parseObject(bytes, { path: 'basic.o' });
  const counts = spec.maps.find((m) => m.name === 'counts')!;
  counts.maxEntries = 0;
  const byName = (n: string) => spec.programs.find((p) => p.name === n)!;
  const r = verifyProgram(spec, byName('count_proto'));
  assert.equal(r.unmodelled, true);
  assert.equal(
    r.message,
    "program 'count_proto': map 'counts': max_entries 0 for a hash map (the kernel's EINVAL): the kernel would not create it as the object has it, so it never verifies the program (its loader must size the map first)",
  );
  // A program that does not use the map is judged as before.
  assert.equal(verifyProgram(spec, byName('pass_all')).accepted, true);
  counts.maxEntries = 128;
  counts.valueSize = 0;
  assert.match(
    verifyProgram(spec, byName('count_proto')).message ?? '',
    /map 'counts': key_size 4, value_size 0 \(neither may be 0\)/,
  );
  // A perf event array's 0 entries is every loader's "one per CPU": no fault (the walk judges the program).
  Object.assign(counts, { type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 0 });
  const perf = verifyProgram(spec, byName('count_proto'));
  assert.equal(perf.unmodelled, undefined, perf.message);
});

const SOURCE = `
typedef unsigned int __u32;
typedef unsigned long long __u64;
#define SEC(s) __attribute__((section(s), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
static void *(*lookup)(void *map, const void *key) = (void *)1;
struct {
  __uint(type, 2); /* BPF_MAP_TYPE_ARRAY */
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 0);
} per_cpu_count SEC(".maps");
SEC("xdp") int count(void *ctx) {
  __u32 k = 0;
  __u64 *v = lookup(&per_cpu_count, &k);
  if (v) *v += 1;
  return 2; /* XDP_PASS */
}
char _license[] SEC("license") = "GPL";
`;

test('bpfkit verify --max-entries sizes the maps a tool sizes at run time', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const dir = mkdtempSync(join(tmpdir(), `bpfkit-unsized-${process.pid}-`));
  try {
    const src = join(dir, 'tool.bpf.c');
    const obj = join(dir, 'tool.bpf.o');
    writeFileSync(src, SOURCE);
    const cc = spawnSync('clang', ['-O2', '-g', '-target', 'bpf', '-c', src, '-o', obj], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const run = (...args: string[]) =>
      spawnSync(process.execPath, ['bin/bpfkit.js', 'verify', obj, ...args], { encoding: 'utf8' });
    const plain = run();
    assert.equal(plain.status, 1);
    assert.equal(
      plain.stdout,
      "count: not modelled at insn 0: program 'count': map 'per_cpu_count': max_entries 0 for a array map (the kernel's EINVAL): the kernel would not create it as the object has it, so it never verifies the program (its loader must size the map first)\n",
    );
    const sized = run('--max-entries', '4');
    assert.equal(sized.status, 0, sized.stdout);
    assert.equal(sized.stdout, 'count: accepted\n');
    const zero = run('--max-entries', '0');
    assert.equal(zero.status, 2);
    assert.equal(zero.stderr, 'bpfkit verify: --max-entries must be at least 1\n');
    // Raw instructions have no maps to size: the flag is refused, not ignored.
    const raw = join(dir, 'prog.bin');
    writeFileSync(raw, Buffer.from('b700000000000000' + '9500000000000000', 'hex')); // r0 = 0; exit
    const rawRun = spawnSync(
      process.execPath,
      ['bin/bpfkit.js', 'verify', raw, '--type', 'xdp', '--max-entries', '4'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(rawRun.status, 2);
    assert.equal(
      rawRun.stderr,
      `bpfkit verify: ${raw}: --max-entries sizes an ELF object's maps; raw instructions have none\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
