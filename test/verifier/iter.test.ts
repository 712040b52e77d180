/**
 * BPF iterator programs (BPF_PROG_TYPE_TRACING with BPF_TRACE_ITER, src/verifier/iter.ts): the context
 * `struct bpf_iter__<target>` (a trusted `meta`, the target's pointers as ctx_arg_info types them, NULL-able
 * until checked), `meta->seq` a trusted seq_file, the seq_file helpers, the return value in [0, 1], and what
 * is reported as not modelled. As root the running kernel judges every case too: same verdict, same
 * instruction, same words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Btf, BtfKind } from '../../src/btf/index.js';
import { compileC } from '../../src/compile/index.js';
import { loadCollection } from '../../src/loader/index.js';
import { verifyInstructions, type VerifyResult } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { build } from './boundary-programs.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant, type Want } from './expect.js';

const TRACING = 26;
const TRACE_ITER = 28;

/** ok, refused at `pc` with a last message line matching `re`, or not modelled. */
interface Case {
  name: string;
  /** The iterator target (`bpf_iter_<target>`). */
  target: string;
  text: string;
  want: Want;
}

const OK: Want = { ok: true };
const at = (pc: number, re: RegExp): Want => ({ pc, re });
const UNMODELLED: Want = { unmodelled: true };

/** r1 = meta->seq (the context's first slot, then its first field). */
const SEQ = 'r2 = *(u64 *)(r1 + 0)\nr1 = *(u64 *)(r2 + 0)';
/** 8 bytes at fp-8 written, r2 pointing at them. */
const BUF = '*(u64 *)(r10 - 8) = 7\nr2 = r10\nr2 += -8';
const exit = 'r0 = 0\nexit';

/** The modelled targets and their ctx_arg_info pointers' types (after `meta`, a trusted_ptr_). */
const TARGETS: [string, string[]][] = [
  ['task', ['trusted_ptr_or_null_']],
  ['task_file', ['ptr_or_null_', 'scalar', 'ptr_or_null_']],
  ['task_vma', ['ptr_or_null_', 'ptr_or_null_']],
  ['bpf_map', ['trusted_ptr_or_null_']],
  ['bpf_link', ['ptr_or_null_']],
  ['tcp', ['trusted_ptr_or_null_', 'scalar']],
  ['udp', ['trusted_ptr_or_null_', 'scalar', 'scalar']],
  ['unix', ['ptr_or_null_', 'scalar']],
  ['netlink', ['ptr_or_null_']],
  ['ipv6_route', ['ptr_or_null_']],
  ['ksym', ['ptr_or_null_']],
  ['cgroup', ['trusted_ptr_or_null_']],
];

function cases(btf: Btf): Case[] {
  const walks: [string, number, number, string][] = [
    ['task_file', 3, field(btf, 'file', 'f_op'), 'file->f_op'],
    ['task_file', 3, field(btf, 'file', 'f_inode'), 'file->f_inode'],
    ['task', 1, field(btf, 'task_struct', 'mm'), 'trusted task->mm'],
    ['task_file', 1, field(btf, 'task_struct', 'mm'), 'plain task->mm'],
    ['task_vma', 2, field(btf, 'vm_area_struct', 'vm_mm'), 'vma->vm_mm'],
    ['bpf_link', 1, field(btf, 'bpf_link', 'prog'), 'link->prog'],
    ['bpf_map', 1, field(btf, 'bpf_map', 'ops'), 'map->ops'],
  ];
  const untrusted = /^At program exit the register R0 is not a known value \(untrusted_ptr_\)$/;
  const nsproxy = field(btf, 'task_struct', 'nsproxy');
  const kn = field(btf, 'cgroup', 'kn');
  const deeper: Case[] = [
    {
      name: 'meta->seq->file is untrusted',
      target: 'task',
      text: `r2 = *(u64 *)(r1 + 0)\nr2 = *(u64 *)(r2 + 0)\nr0 = *(u64 *)(r2 + ${field(btf, 'seq_file', 'file')})\nexit`,
      want: at(3, untrusted),
    },
    {
      name: 'a walk from an untrusted pointer is untrusted',
      target: 'task',
      text: `r2 = *(u64 *)(r1 + 8)\nif r2 == 0 goto +3\nr2 = *(u64 *)(r2 + ${nsproxy})\nr0 = *(u64 *)(r2 + ${field(btf, 'nsproxy', 'uts_ns')})\nexit\n${exit}`,
      want: at(4, untrusted),
    },
    {
      name: 'get_current_task_btf()->mm is untrusted too',
      target: 'task',
      text: `call 158\nr0 = *(u64 *)(r0 + ${field(btf, 'task_struct', 'mm')})\nexit`,
      want: at(2, untrusted),
    },
    {
      name: 'cgroup->kn is rcu_ptr_',
      target: 'cgroup',
      text: `r2 = *(u64 *)(r1 + 8)\nif r2 == 0 goto +2\nr0 = *(u64 *)(r2 + ${kn})\nexit\n${exit}`,
      want: at(3, /^At program exit the register R0 is not a known value \(rcu_ptr_\)$/),
    },
    {
      name: 'cgroup->kn->__parent is untrusted',
      target: 'cgroup',
      text: `r2 = *(u64 *)(r1 + 8)\nif r2 == 0 goto +3\nr2 = *(u64 *)(r2 + ${kn})\nr0 = *(u64 *)(r2 + ${field(btf, 'kernfs_node', '__parent')})\nexit\n${exit}`,
      want: at(4, untrusted),
    },
    {
      name: 'cgroup->kn->id',
      target: 'cgroup',
      text: `r2 = *(u64 *)(r1 + 8)\nif r2 == 0 goto +2\nr2 = *(u64 *)(r2 + ${kn})\nr0 = *(u64 *)(r2 + ${field(btf, 'kernfs_node', 'id')})\n${exit}`,
      want: OK,
    },
    {
      // The kernel gives rcu_ptr_: bpfkit does not carry the lists.
      name: 'task->real_parent',
      target: 'task',
      text: `r2 = *(u64 *)(r1 + 8)\nif r2 == 0 goto +2\nr0 = *(u64 *)(r2 + ${field(btf, 'task_struct', 'real_parent')})\nexit\n${exit}`,
      want: UNMODELLED,
    },
    {
      name: 'seq_printf of NULL data with a size',
      target: 'task',
      text: `${SEQ}\n${BUF}\nr3 = 8\nr4 = 0\nr5 = 8\ncall 126\n${exit}`,
      want: at(8, /^R4 type=scalar expected=fp$/),
    },
  ];
  const out: Case[] = [];
  // Each argument returned as it is: the kernel's refusal names its type.
  for (const [target, args] of TARGETS)
    ['trusted_ptr_', ...args].forEach((type, i) =>
      out.push({
        name: `${target} arg${i} is ${type}`,
        target,
        text: `r0 = *(u64 *)(r1 + ${8 * i})\nexit`,
        want: at(
          1,
          type === 'scalar'
            ? /^At program exit the register R0 has unknown scalar value should have been in \[0, 1\]$/
            : new RegExp(`^At program exit the register R0 is not a known value \\(${type}\\)$`),
        ),
      }),
    );
  const task = 'task';
  return [
    ...out,
    ...deeper,
    { name: 'return 1', target: task, text: 'r0 = 1\nexit', want: OK },
    {
      name: 'return 2',
      target: task,
      text: 'r0 = 2\nexit',
      want: at(1, /^At program exit the register R0 has smin=2 smax=2 should have been in \[0, 1\]$/),
    },
    {
      name: 'no third argument',
      target: task,
      text: `r0 = *(u64 *)(r1 + 16)\n${exit}`,
      want: at(0, /^invalid bpf_context access off=16 size=8$/),
    },
    {
      name: 'ctx store',
      target: task,
      text: `*(u64 *)(r1 + 0) = 0\n${exit}`,
      want: at(0, /^invalid bpf_context access off=0 size=8$/),
    },
    {
      name: 'meta read narrowly',
      target: task,
      text: `r0 = *(u32 *)(r1 + 0)\n${exit}`,
      want: at(0, /^invalid bpf_context access off=0 size=4$/),
    },
    {
      name: 'meta->seq is trusted',
      target: task,
      text: 'r2 = *(u64 *)(r1 + 0)\nr0 = *(u64 *)(r2 + 0)\nexit',
      want: at(2, /^At program exit the register R0 is not a known value \(trusted_ptr_\)$/),
    },
    { name: 'meta->seq_num', target: task, text: `r2 = *(u64 *)(r1 + 0)\nr0 = *(u64 *)(r2 + 16)\n${exit}`, want: OK },
    {
      name: 'meta store',
      target: task,
      text: `r2 = *(u64 *)(r1 + 0)\n*(u64 *)(r2 + 16) = 0\n${exit}`,
      want: at(1, /^only read is supported$/),
    },
    {
      name: 'task unchecked',
      target: task,
      text: `r2 = *(u64 *)(r1 + 8)\nr0 = *(u32 *)(r2 + 0)\n${exit}`,
      want: at(1, /^R2 invalid mem access 'trusted_ptr_or_null_'$/),
    },
    {
      name: 'task checked',
      target: task,
      text: `r2 = *(u64 *)(r1 + 8)\nif r2 == 0 goto +1\nr0 = *(u32 *)(r2 + 0)\n${exit}`,
      want: OK,
    },
    {
      name: 'file unchecked',
      target: 'task_file',
      text: `r2 = *(u64 *)(r1 + 24)\nr0 = *(u32 *)(r2 + 0)\n${exit}`,
      want: at(1, /^R2 invalid mem access 'ptr_or_null_'$/),
    },
    // A walk in an iterator gives an untrusted pointer, from a plain file (on the RCU lists) or a trusted task.
    ...walks.map(([target, arg, fieldOff, name]) => ({
      name: `${name} is untrusted`,
      target,
      text: `r2 = *(u64 *)(r1 + ${8 * arg})\nif r2 == 0 goto +2\nr0 = *(u64 *)(r2 + ${fieldOff})\nexit\n${exit}`,
      want: at(3, /^At program exit the register R0 is not a known value \(untrusted_ptr_\)$/),
    })),
    {
      name: 'seq_printf with a stack format',
      target: task,
      text: `${SEQ}\n${BUF}\nr3 = 8\nr4 = 0\nr5 = 0\ncall 126\n${exit}`,
      want: OK,
    },
    {
      name: 'seq_printf with data',
      target: task,
      text: `${SEQ}\n${BUF}\nr3 = 8\nr4 = r2\nr5 = 8\ncall 126\n${exit}`,
      want: OK,
    },
    {
      name: 'seq_printf with a zero format size',
      target: task,
      text: `${SEQ}\n${BUF}\nr3 = 0\nr4 = 0\nr5 = 0\ncall 126\n${exit}`,
      want: at(8, /^R3 invalid zero-sized read: u64=\[0,0\]$/),
    },
    {
      name: 'seq_printf data past the stack',
      target: task,
      text: `${SEQ}\n${BUF}\nr3 = 8\nr4 = r2\nr5 = 16\ncall 126\n${exit}`,
      want: at(8, /^invalid read from stack R4 off=-8 size=16$/),
    },
    { name: 'seq_write', target: task, text: `${SEQ}\n${BUF}\nr3 = 8\ncall 127\n${exit}`, want: OK },
    {
      // tracing_prog_func_proto gives get_attach_cookie to tp_btf and trampoline programs, not iterators.
      name: 'get_attach_cookie',
      target: task,
      text: `call 174\n${exit}`,
      want: at(0, /^program of this type cannot use helper bpf_get_attach_cookie#174$/),
    },
    {
      name: 'seq_write past the stack',
      target: task,
      text: `${SEQ}\n${BUF}\nr3 = 9\ncall 127\n${exit}`,
      want: at(6, /^invalid read from stack R2 off=-8 size=9$/),
    },
    {
      name: 'seq_write of NULL',
      target: task,
      text: `${SEQ}\nr2 = 0\nr3 = 0\ncall 127\n${exit}`,
      want: at(
        4,
        /^R2 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_$/,
      ),
    },
    { name: 'seq_printf_btf', target: task, text: `${SEQ}\n${BUF}\nr3 = 8\nr4 = 0\ncall 150\n${exit}`, want: OK },
    {
      name: 'seq_printf result is a scalar',
      target: task,
      text: `${SEQ}\n${BUF}\nr3 = 8\nr4 = 0\nr5 = 0\ncall 126\nexit`,
      want: at(9, /^At program exit the register R0 has unknown scalar value should have been in \[0, 1\]$/),
    },
    {
      name: 'seq_printf on meta',
      target: task,
      text: `r1 = *(u64 *)(r1 + 0)\n${BUF}\nr3 = 8\nr4 = 0\nr5 = 0\ncall 126\n${exit}`,
      want: UNMODELLED,
    },
    {
      name: 'task pid after check',
      target: task,
      text: `r2 = *(u64 *)(r1 + 8)\nif r2 == 0 goto +1\nr0 = *(u32 *)(r2 + 0)\n${exit}`,
      want: OK,
    },
    { name: 'map_elem target', target: 'bpf_map_elem', text: exit, want: UNMODELLED },
  ];
}

/** Byte offset of `struct name`'s top-level member `member`. */
function field(btf: Btf, name: string, member: string): number {
  const m = btf.byName(name, BtfKind.STRUCT)!.members.find((x) => x.name === member)!;
  return m.offset / 8;
}

function bpfkitVerdict(btf: Btf, c: Case): VerifyResult {
  return verifyInstructions(build(c.text), {
    type: TRACING,
    attachType: TRACE_ITER,
    kernelBtf: btf,
    attachBtfName: `bpf_iter_${c.target}`,
  });
}

test('iter: bpfkit says what each case expects', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  for (const c of cases(btf)) {
    if (!btf.byName(`bpf_iter_${c.target}`, BtfKind.FUNC)) continue;
    const v = bpfkitVerdict(btf, c);
    assertWant(c.name, v, c.want);
  }
});

test('iter: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  for (const c of cases(btf)) {
    const f = btf.byName(`bpf_iter_${c.target}`, BtfKind.FUNC);
    if (!f) continue;
    const v = bpfkitVerdict(btf, c);
    if (v.unmodelled) {
      assert.deepEqual(c.want, UNMODELLED, `${c.name}: not modelled: ${v.message}`);
      continue;
    }
    const k = kernelVerdictRaw(build(c.text), TRACING, [], TRACE_ITER, f.id);
    assertKernelAgrees(c.name, v, k);
  }
});

test('iter: without the kernel BTF, or an unknown target, not modelled', (t) => {
  if (skipWithoutBtf(t)) return;
  const noBtf = verifyInstructions(build(exit), { type: TRACING, attachType: TRACE_ITER });
  assert.equal(noBtf.unmodelled, true, noBtf.message);
  const noTarget = verifyInstructions(build(exit), {
    type: TRACING,
    attachType: TRACE_ITER,
    kernelBtf: kernelBtf(),
    attachBtfName: 'bpf_iter_no_such_target',
  });
  assert.equal(noTarget.unmodelled, true, noTarget.message);
});

test("loadCollection's verify checks an iterator program by the kernel's BTF", async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] }) || skipWithoutBtf(t)) return;
  const { spec } = await compileC(
    `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
static long (*const seq_printf)(struct seq_file *, const char *, __u32, const void *, __u32) = (void *)126;
SEC("iter/task") int dump(struct bpf_iter__task *ctx) {
  struct seq_file *seq = ctx->meta->seq;
  struct task_struct *task = ctx->task;
  if (!task) return 0;
  __u64 data[1] = { task->pid };
  static const char fmt[] = "%d\\n";
  seq_printf(seq, fmt, sizeof(fmt), data, sizeof(data));
  return 0;
}
char LICENSE[] SEC("license") = "GPL";`,
    { filename: 'iter-verify.bpf.c' },
  );
  const unmodelled: string[] = [];
  const c = await loadCollection(spec, {
    engine: 'kernel',
    verify: { onUnmodelled: (name, why) => unmodelled.push(`${name}: ${why}`) },
  });
  c.close();
  assert.deepEqual(unmodelled, []);
});
