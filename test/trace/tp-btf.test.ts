/**
 * tp_btf live: a typed raw tracepoint written against the generated vmlinux.h loads (the loader resolves
 * `tp_btf/sched_process_exec` to the kernel's btf_trace_sched_process_exec as attach_btf_id), attaches
 * through attachAll, and walks the task pointer the kernel hands it — p->real_parent->tgid, a direct BTF
 * pointer read that only a BTF-typed program may do — to count exactly the execs of this test's children.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BPF } from '../../src/trace/index.js';
import { compileC } from '../../src/compile/index.js';
import { needs } from '../support/env.js';

const dir = mkdtempSync(path.join(os.tmpdir(), `bpfkit-tpbtf-${process.pid}-`));
process.env.BPFKIT_CACHE_DIR ??= path.join(dir, 'cache');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const PROGRAM = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} out SEC(".maps");

SEC("tp_btf/sched_process_exec")
int on_exec(unsigned long long *ctx) {
  struct task_struct *p = (struct task_struct *)ctx[0];
  __u32 k = 0;
  __u64 *parent = bpf_map_lookup_elem(&out, &k);
  if (!parent || (__u64)p->real_parent->tgid != *parent) return 0;
  k = 1;
  __u64 *n = bpf_map_lookup_elem(&out, &k);
  if (n) __sync_fetch_and_add(n, 1);
  return 0;
}
char LICENSE[] SEC("license") = "GPL";
`;

test('a tp_btf program loads with its BTF attach target, attaches and reads typed kernel pointers', async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] })) return;
  const compiled = await compileC(PROGRAM, { filename: 'exec.bpf.c' });
  const bpf = BPF.fromSpec(compiled.spec);
  try {
    assert.equal(bpf.attachAll().length, 1, 'tp_btf/ is auto-attached');
    const me = new Uint8Array(8);
    new DataView(me.buffer).setBigUint64(0, BigInt(process.pid), true);
    bpf.collection.map('out').update(new Uint8Array([0, 0, 0, 0]), me);
    const runs = 5;
    for (let i = 0; i < runs; i++) {
      const child = spawn('/bin/true', [], { stdio: 'ignore' });
      assert.equal(await new Promise((r) => child.once('exit', r)), 0);
    }
    const v = bpf.collection.map('out').lookup(new Uint8Array([1, 0, 0, 0]))!;
    assert.equal(
      new DataView(v.buffer, v.byteOffset).getBigUint64(0, true),
      BigInt(runs),
      'one event per exec of a child',
    );
  } finally {
    bpf.close();
  }
});
