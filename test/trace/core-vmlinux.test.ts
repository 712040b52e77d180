/**
 * CO-RE from a generated vmlinux.h, live: a program that includes "vmlinux.h" compiles with no kernel
 * headers (compileC writes the header from /sys/kernel/btf/vmlinux with bpfkit's BTF→C writer), carries
 * CO-RE relocations for the kernel structs it reads, is relocated against the running kernel, attached to
 * a syscall tracepoint and reads back what the test knows: the caller's tgid, its parent's tgid, the
 * syscall number and its argument, through task_struct and the tracepoint's typed context.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BPF } from '../../src/trace/index.js';
import { compileC } from '../../src/compile/index.js';
import { hasCoreRelocations } from '../../src/elf/core-apply.js';
import { needs } from '../support/env.js';

const dir = mkdtempSync(path.join(os.tmpdir(), `bpfkit-core-${process.pid}-`));
process.env.BPFKIT_CACHE_DIR ??= path.join(dir, 'cache');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const PROGRAM = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 5);
  __type(key, __u32);
  __type(value, __u64);
} out SEC(".maps");

static __always_inline void put(__u32 k, __u64 v) { bpf_map_update_elem(&out, &k, &v, BPF_ANY); }

SEC("tracepoint/syscalls/sys_enter_close")
int on_close(struct trace_event_raw_sys_enter *ctx) {
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  struct task_struct *parent = 0;
  int tgid = 0, ptgid = 0;
  __u32 k = 0;
  __u64 *want = bpf_map_lookup_elem(&out, &k);
  /* CO-RE: the offsets of tgid and real_parent come from the running kernel, not from the header. */
  bpf_probe_read_kernel(&tgid, sizeof(tgid), &task->tgid);
  /* The dynamic loader closes files too: count only the test's close(4242). */
  if (!want || (__u64)tgid != *want || ctx->args[0] != 4242) return 0;
  bpf_probe_read_kernel(&parent, sizeof(parent), &task->real_parent);
  bpf_probe_read_kernel(&ptgid, sizeof(ptgid), &parent->tgid);
  __u64 *n = bpf_map_lookup_elem(&out, &(__u32){1});
  if (n) __sync_fetch_and_add(n, 1);
  put(2, ptgid);
  put(3, ctx->id);
  put(4, bpf_core_type_size(struct task_struct));
  return 0;
}
char LICENSE[] SEC("license") = "GPL";
`;

const TARGET = `#include <stdio.h>
#include <unistd.h>
int main(void) { char l[8]; if (!fgets(l, sizeof l, stdin)) return 1; for (int i = 0; i < 7; i++) close(4242); return 0; }
`;

function u64(bpf: BPF, k: number): bigint {
  const v = bpf.collection.map('out').lookup(new Uint8Array([k, 0, 0, 0]))!;
  return new DataView(v.buffer, v.byteOffset).getBigUint64(0, true);
}

test('a CO-RE program built from the generated vmlinux.h loads, attaches and reads the right kernel fields', async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] })) return;
  const compiled = await compileC(PROGRAM, { filename: 'core.bpf.c' });
  assert.ok(hasCoreRelocations(compiled.spec), 'field accesses on vmlinux.h types are CO-RE relocations');
  const generated = readdirSync(process.env.BPFKIT_CACHE_DIR!).filter((d) => d.startsWith('vmlinux-'));
  assert.equal(generated.length, 1, 'one vmlinux.h per kernel BTF');
  const again = await compileC(PROGRAM, { filename: 'core.bpf.c' });
  assert.equal(again.cached, true);

  const src = path.join(dir, 't.c');
  const bin = path.join(dir, 'core-target');
  writeFileSync(src, TARGET);
  execFileSync('clang', ['-O1', '-o', bin, src]);
  const bpf = BPF.fromSpec(compiled.spec);
  try {
    bpf.attachTracepoint('syscalls', 'sys_enter_close', 'on_close');
    const child = spawn(bin, [], { stdio: ['pipe', 'ignore', 'inherit'] });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    const want = new Uint8Array(8);
    new DataView(want.buffer).setBigUint64(0, BigInt(child.pid!), true);
    bpf.collection.map('out').update(new Uint8Array([0, 0, 0, 0]), want);
    child.stdin.end('go\n');
    assert.equal(await exited, 0);
    assert.equal(
      u64(bpf, 1),
      7n,
      'seven close(4242) calls of that process, picked by the argument in the typed context',
    );
    assert.equal(u64(bpf, 2), BigInt(process.pid), "the parent's tgid read through real_parent");
    assert.equal(u64(bpf, 3), process.arch === 'x64' ? 3n : 57n, 'the syscall number from the typed context');
    assert.ok(u64(bpf, 4) > 1000n, 'bpf_core_type_size(struct task_struct) relocated to the kernel size');
  } finally {
    bpf.close();
  }
});

test('vmlinux: false leaves vmlinux.h to the include path: without one, clang says so at the user line', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  await assert.rejects(
    compileC(PROGRAM, { filename: 'core.bpf.c', vmlinux: false }),
    (e: Error & { exitCode?: number }) => {
      assert.match(e.message, /^core\.bpf\.c:1:10: 'vmlinux\.h' file not found/);
      assert.equal(e.exitCode, 2);
      return true;
    },
  );
});
