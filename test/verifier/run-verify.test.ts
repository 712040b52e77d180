/**
 * `bpfkit run` asks bpfkit's verifier before running in the VM: a program the kernel would refuse (here
 * the reliability probe's write past an 8-byte map value) is not run, `--no-verify` runs it (the VM then
 * catches the stray write at run time), and a
 * program the verifier cannot judge runs with a one-line note.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs, repoPath } from '../support/env.js';

// No system headers (their asm/ directory is per architecture): the few types and constants spelled out.
const PAST_THE_VALUE = `typedef unsigned int __u32;
typedef unsigned long long __u64;
enum { BPF_MAP_TYPE_ARRAY = 2 };
struct xdp_md { __u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex; };
#define SEC(n) __attribute__((section(n), used))
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
struct {
  int (*type)[BPF_MAP_TYPE_ARRAY];
  int (*max_entries)[1];
  __u32 *key;
  __u64 *value;
} vals SEC(".maps");
SEC("xdp")
int past_the_value(struct xdp_md *ctx) {
  __u32 k = 0;
  __u64 *v = bpf_map_lookup_elem(&vals, &k);
  if (v) v[1] = 7; /* the neighbour's bytes: the kernel refuses */
  return 2;
}
char _license[] SEC("license") = "GPL";
`;

const bpfkit = (...args: string[]) =>
  spawnSync(process.execPath, [repoPath('bin/bpfkit.js'), ...args], { encoding: 'utf8' });

test('bpfkit run verifies first in the VM; --no-verify skips it', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-run-verify-'));
  try {
    writeFileSync(join(dir, 'p.c'), PAST_THE_VALUE);
    const obj = join(dir, 'p.o');
    const cc = spawnSync('clang', ['-O2', '-g', '-target', 'bpf', '-c', join(dir, 'p.c'), '-o', obj], {
      encoding: 'utf8',
    });
    assert.equal(cc.status, 0, cc.stderr);
    const packet = '00'.repeat(60);
    const refused = bpfkit('run', obj, '--mem', packet);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /would be refused by the kernel's verifier at insn \d+: invalid access to map value/);
    assert.equal(refused.stderr.trim().split('\n').length, 1, 'one line');
    // Unverified, the VM runs it and catches the stray write itself, at run time.
    const ran = bpfkit('run', obj, '--mem', packet, '--no-verify');
    assert.doesNotMatch(ran.stderr, /would be refused/);
    assert.match(ran.stderr, /runs past the end of region 'map vals values'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bpfkit run: a program the verifier does not model runs, with a note saying so', () => {
  // tc-demo's set_mark has no program type of its own (an "action" section): bpfkit cannot judge it.
  const r = bpfkit('run', repoPath('test/fixtures/tc/tc-demo.o'), '--program', 'set_mark', '--mem', '00'.repeat(60));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /retval 0/);
  assert.match(
    r.stderr,
    /bpfkit run: 'set_mark' not verified \(bpfkit: program type unspec \(0\) is not modelled .*\); running it anyway/,
  );
});
