import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs, repoPath } from '../support/env.js';
import { KeyTable } from '../../src/vm/maps/keytable.js';

/** A program reading one hash map of `entries` entries, in section `section` (no system headers needed). */
const object = (section: string, entries: number) => `
#define SEC(n) __attribute__((section(n), used))
struct {
  int (*type)[1]; /* BPF_MAP_TYPE_HASH */
  int (*max_entries)[${entries}];
  unsigned int *key;
  unsigned long long *value;
} big SEC(".maps");
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
SEC("${section}") int prog(void *ctx) {
  unsigned int k = 0;
  unsigned long long *v = bpf_map_lookup_elem(&big, &k);
  return v ? *v : 0;
}
char LICENSE[] SEC("license") = "GPL";
`;

const bpfkit = (...args: string[]) =>
  spawnSync(process.execPath, [repoPath('bin/bpfkit.js'), ...args], { encoding: 'utf8' });

function build(dir: string, name: string, source: string): string {
  writeFileSync(join(dir, `${name}.c`), source);
  const obj = join(dir, `${name}.o`);
  const cc = spawnSync('clang', ['-O2', '-g', '-target', 'bpf', '-c', join(dir, `${name}.c`), '-o', obj], {
    encoding: 'utf8',
  });
  assert.equal(cc.status, 0, cc.stderr);
  return obj;
}

test('bpfkit run: a map too large for the VM is one error line, without the not-verified note', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const dir = mkdtempSync(join(tmpdir(), `bpfkit-run-map-size-${process.pid}-`));
  try {
    // Section 'mark' names no program type: the verifier cannot judge it, which used to print its note
    // on a line of its own before the map's error.
    const obj = build(dir, 'huge', object('mark', 1_000_000_000));
    const r = bpfkit('run', obj, '--mem', '00');
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^bpfkit run: map 'big': create: ENOMEM .*4 GiB address space\)\n$/);
    // The same program with a map that fits runs, and the note is still there.
    const small = build(dir, 'small', object('mark', 16));
    const ok = bpfkit('run', small, '--mem', '00');
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /^bpfkit run: 'prog' not verified \(.*\); running it anyway\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bpfkit run: a hash map of 100M entries (a key table over 2^31 bytes) is created and runs', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const dir = mkdtempSync(join(tmpdir(), `bpfkit-run-map-size-${process.pid}-`));
  try {
    // It used to end in "Invalid typed array length: -21225408" (exit 70): the table's size, rounded
    // with a 32-bit `& ~7`, came out negative.
    const obj = build(dir, 'big', object('socket', 100_000_000));
    const r = bpfkit('run', obj, '--mem', '00');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^mem: retval 0 .*\nmap big \(hash, 0 entries\)\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('KeyTable.bytesFor stays a positive multiple of 8 past 2^31 bytes', () => {
  for (const capacity of [100_000_000, 300_000_000, 1 << 30]) {
    const n = KeyTable.bytesFor(4, capacity);
    assert.ok(n > 2 ** 31, `${capacity}: ${n}`);
    assert.equal(n % 8, 0, `${capacity}: ${n}`);
  }
  assert.equal(KeyTable.bytesFor(4, 1) % 8, 0);
});
