/**
 * tp_btf programs (BPF_PROG_TYPE_TRACING with BPF_TRACE_RAW_TP, src/verifier/btf-ptr.ts): context
 * arguments typed by the tracepoint's `btf_trace_<name>` typedef, loads through the PTR_TO_BTF_ID they
 * give (scalar fields, nested structs, arrays, pointer fields walked), the trusted pointer's never-NULL
 * branch, constant offsets, bpf_get_current_task_btf, and what is reported as not modelled. Offsets come
 * from the running kernel's BTF; as root the running kernel judges every case too: same verdict, same
 * instruction, same words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Btf, BtfKind } from '../../src/btf/index.js';
import { loadCollection } from '../../src/loader/index.js';
import { compileC } from '../../src/compile/index.js';
import { verifyInstructions, type VerifyResult } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { build } from './boundary-programs.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant, type Want } from './expect.js';

const TRACING = 26;
const TRACE_RAW_TP = 23;
const FENTRY = 24;

/** ok, refused at `pc` with a last message line matching `re`, or not modelled. */
interface Case {
  name: string;
  tp: string;
  text: string;
  want: Want;
}

const OK: Want = { ok: true };
const at = (pc: number, re: RegExp): Want => ({ pc, re });
const UNMODELLED: Want = { unmodelled: true };
const ctxRefused = (pc: number, off: number, size: number) =>
  at(pc, new RegExp(`^invalid bpf_context access off=${off} size=${size}$`));

/** Byte offset of `struct name`'s member `member` (looked for in anonymous members too), and its size. */
function field(btf: Btf, name: string, member: string): { off: number; size: number } {
  const find = (id: number, base: number): { off: number; size: number } | undefined => {
    for (const m of btf.resolve(id).members) {
      if (m.name === member) return { off: base + m.offset / 8, size: btf.sizeOf(m.type) };
      const mt = btf.resolve(m.type);
      if (m.name === '' && (mt.kind === BtfKind.STRUCT || mt.kind === BtfKind.UNION)) {
        const inner = find(m.type, base + m.offset / 8);
        if (inner) return inner;
      }
    }
    return undefined;
  };
  return find(btf.byName(name, BtfKind.STRUCT)!.id, 0)!;
}

function cases(btf: Btf): Case[] {
  const task = btf.byName('task_struct', BtfKind.STRUCT)!.sizeOrType;
  const pid = field(btf, 'task_struct', 'pid').off;
  const comm = field(btf, 'task_struct', 'comm');
  const mm = field(btf, 'task_struct', 'mm').off;
  const mmSize = field(btf, 'mm_struct', 'flags');
  const exit = 'r0 = 0\nexit';
  const wakee = field(btf, 'task_struct', 'last_wakee').off;
  const nsproxy = field(btf, 'task_struct', 'nsproxy').off;
  const skbLen = field(btf, 'sk_buff', 'len').off;
  const skbDev = field(btf, 'sk_buff', 'dev').off;
  // A task_struct field past the end of struct nsproxy; past the end of mm_struct, its flexible cpu_bitmap.
  const past = pid;
  const mmEnd = btf.byName('mm_struct', BtfKind.STRUCT)!.sizeOrType;
  // sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
  const prev = 'r6 = *(u64 *)(r1 + 8)';
  return [
    { name: 'scalar arg read narrowly', tp: 'sched_switch', text: `r2 = *(u8 *)(r1 + 0)\n${exit}`, want: OK },
    { name: 'scalar arg read whole', tp: 'sched_switch', text: `r2 = *(u64 *)(r1 + 24)\n${exit}`, want: OK },
    {
      name: 'pointer arg read narrowly',
      tp: 'sched_switch',
      text: `r2 = *(u32 *)(r1 + 8)\n${exit}`,
      want: ctxRefused(0, 8, 4),
    },
    { name: 'inside an arg', tp: 'sched_switch', text: `r2 = *(u32 *)(r1 + 4)\n${exit}`, want: ctxRefused(0, 4, 4) },
    { name: 'misaligned', tp: 'sched_switch', text: `r2 = *(u64 *)(r1 + 4)\n${exit}`, want: ctxRefused(0, 4, 8) },
    { name: 'past the args', tp: 'sched_switch', text: `r2 = *(u64 *)(r1 + 32)\n${exit}`, want: ctxRefused(0, 32, 8) },
    { name: 'past 12 slots', tp: 'sched_switch', text: `r2 = *(u64 *)(r1 + 96)\n${exit}`, want: ctxRefused(0, 96, 8) },
    {
      name: 'ctx written',
      tp: 'sched_switch',
      text: `r2 = 1\n*(u64 *)(r1 + 0) = r2\n${exit}`,
      want: ctxRefused(1, 0, 8),
    },
    { name: 'task->pid', tp: 'sched_switch', text: `${prev}\nr0 = *(u32 *)(r6 + ${pid})\nexit`, want: OK },
    {
      name: 'task->pid read wide',
      tp: 'sched_switch',
      text: `${prev}\nr0 = *(u64 *)(r6 + ${pid})\nexit`,
      want: at(1, new RegExp(`^access beyond the end of member pid \\(mend:${pid + 4}\\) in struct task_struct`)),
    },
    {
      name: 'task->comm[8..16)',
      tp: 'sched_switch',
      text: `${prev}\nr0 = *(u64 *)(r6 + ${comm.off + 8})\nexit`,
      want: OK,
    },
    {
      name: 'task->comm past its end',
      tp: 'sched_switch',
      text: `${prev}\nr0 = *(u64 *)(r6 + ${comm.off + comm.size - 4})\nexit`,
      want: at(1, /^access beyond the end of member comm /),
    },
    {
      name: 'task->thread_info.flags (a nested struct)',
      tp: 'sched_switch',
      text: `${prev}\nr0 = *(u64 *)(r6 + 0)\nexit`,
      want: OK,
    },
    {
      name: 'task at a negative offset',
      tp: 'sched_switch',
      text: `${prev}\nr0 = *(u32 *)(r6 - 8)\nexit`,
      want: at(1, /^R6 is ptr_task_struct invalid negative access: off=-8$/),
    },
    {
      name: 'past the task',
      tp: 'sched_switch',
      text: `${prev}\nr0 = *(u32 *)(r6 + ${task})\nexit`,
      want: at(1, new RegExp(`^access beyond struct task_struct at off ${task} size 4$`)),
    },
    {
      name: 'task written',
      tp: 'sched_switch',
      text: `${prev}\nr2 = 1\n*(u32 *)(r6 + ${pid}) = r2\n${exit}`,
      want: at(2, /^only read is supported$/),
    },
    {
      name: 'task->mm read narrowly',
      tp: 'sched_switch',
      text: `${prev}\nr0 = *(u32 *)(r6 + ${mm})\nexit`,
      want: at(
        1,
        new RegExp(`^cannot access ptr member mm with moff ${mm} in struct task_struct with off ${mm} size 4$`),
      ),
    },
    {
      name: 'task->mm->flags',
      tp: 'sched_switch',
      text: `${prev}\nr2 = *(u64 *)(r6 + ${mm})\nr0 = *(u64 *)(r2 + ${mmSize.off})\nexit`,
      want: OK,
    },
    {
      name: 'a trusted argument is never NULL: its NULL branch is dead',
      tp: 'sched_switch',
      text: `${prev}\nif r6 != 0 goto +1\nr0 = *(u64 *)(r9 + 0)\n${exit}`,
      want: OK,
    },
    {
      name: 'a walked pointer may be NULL: both branches are walked',
      tp: 'sched_switch',
      text: `${prev}\nr6 = *(u64 *)(r6 + ${mm})\nif r6 != 0 goto +1\nr0 = *(u64 *)(r9 + 0)\n${exit}`,
      want: at(3, /^R9 !read_ok$/),
    },
    {
      name: 'a constant offset moves the pointer',
      tp: 'sched_switch',
      text: `${prev}\nr6 += ${pid}\nr0 = *(u32 *)(r6 + 0)\nexit`,
      want: OK,
    },
    {
      // Pruning must tell the structs apart: the task path, walked first, leaves its state at insn 14
      // (8 instructions and 2 jumps since the start: the kernel remembers a state there).
      name: 'a task and an nsproxy met at one instruction',
      tp: 'sched_switch',
      text: `${prev}\nr2 = *(u8 *)(r1 + 0)\n${'r3 = 0\n'.repeat(8)}if r2 != 0 goto +2\nr6 = *(u64 *)(r6 + ${wakee})\ngoto +1\nr6 = *(u64 *)(r6 + ${nsproxy})\nr0 = *(u8 *)(r6 + ${past})\n${exit}`,
      want: at(14, new RegExp(`^access beyond struct nsproxy at off ${past} size 1$`)),
    },
    {
      name: "past mm_struct's end, in its flexible array",
      tp: 'sched_switch',
      text: `${prev}\nr6 = *(u64 *)(r6 + ${mm})\nr0 = *(u64 *)(r6 + ${mmEnd + 16})\nexit`,
      want: OK,
    },
    { name: 'the return value is anything', tp: 'sched_switch', text: 'r0 = 12345\nexit', want: OK },
    { name: 'the return value is set', tp: 'sched_switch', text: 'exit', want: at(0, /^R0 !read_ok$/) },
    {
      name: 'bpf_get_current_task_btf',
      tp: 'sched_switch',
      text: `call 158\nr0 = *(u32 *)(r0 + ${pid})\nexit`,
      want: OK,
    },
    {
      name: 'a task pointer as probe_read_kernel source',
      tp: 'sched_switch',
      text: `${prev}\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = r6\ncall 113\n${exit}`,
      want: OK,
    },
    {
      name: 'a task pointer as a memory argument',
      tp: 'sched_switch',
      text: `${prev}\nr1 = r6\nr2 = 8\nr3 = 0\ncall 113\n${exit}`,
      want: at(4, /^bpf_probe_read_kernel\(\) may write into memory pointed by R1 type=trusted_ptr_$/),
    },
    { name: 'get_attach_cookie', tp: 'sched_switch', text: `call 174\n${exit}`, want: OK },
    {
      name: 'get_attach_cookie of a scalar',
      tp: 'sched_switch',
      text: `r1 = 0\ncall 174\n${exit}`,
      want: at(1, /^R1 type=scalar expected=ctx$/),
    },
    { name: 'sys_enter: the regs pointer', tp: 'sys_enter', text: `r2 = *(u64 *)(r1 + 0)\n${exit}`, want: OK },
    { name: 'sys_enter: the id', tp: 'sys_enter', text: `r2 = *(u64 *)(r1 + 8)\n${exit}`, want: OK },
    {
      name: 'sched_pi_setprio: the task, trusted by the raw_tp_null_args table of 6.18 (tp-null.ts)',
      tp: 'sched_pi_setprio',
      text: `r2 = *(u64 *)(r1 + 0)\n${exit}`,
      want: OK,
    },
    {
      name: 'kfree_skb: skb is never NULL',
      tp: 'kfree_skb',
      text: `r2 = *(u64 *)(r1 + 0)\nr0 = *(u32 *)(r2 + ${skbLen})\nexit`,
      want: OK,
    },
    {
      name: 'kfree_skb: skb->dev is a plain pointer: both branches of its null check are walked',
      tp: 'kfree_skb',
      text: `r2 = *(u64 *)(r1 + 0)\nr2 = *(u64 *)(r2 + ${skbDev})\nif r2 != 0 goto +1\nr0 = *(u64 *)(r9 + 0)\n${exit}`,
      want: at(3, /^R9 !read_ok$/),
    },
    {
      // On the RCU lists: rcu_ptr_or_null_ (trusted-fields.ts, hook-helpers-cases.ts has more).
      name: 'kfree_skb: skb->sk is on the RCU lists',
      tp: 'kfree_skb',
      text: `r2 = *(u64 *)(r1 + 0)\nr2 = *(u64 *)(r2 + ${field(btf, 'sk_buff', 'sk').off})\n${exit}`,
      want: OK,
    },
    {
      name: 'kfree_skb: rx_sk may be NULL',
      tp: 'kfree_skb',
      text: `r2 = *(u64 *)(r1 + 24)\nr0 = *(u16 *)(r2 + 16)\nexit`,
      want: at(1, /^R2 invalid mem access 'trusted_ptr_or_null_'$/),
    },
    {
      name: 'kfree_skb: rx_sk after its null check',
      tp: 'kfree_skb',
      text: `r2 = *(u64 *)(r1 + 24)\nif r2 == 0 goto +1\nr0 = *(u16 *)(r2 + 16)\n${exit}`,
      want: OK,
    },
  ];
}

const typeId = (btf: Btf, tp: string) => btf.byName(`btf_trace_${tp}`, BtfKind.TYPEDEF)!.id;

function bpfkitVerdict(btf: Btf, c: Case, attachType = TRACE_RAW_TP): VerifyResult {
  return verifyInstructions(build(c.text), {
    type: TRACING,
    attachType,
    kernelBtf: btf,
    attachBtfName: `btf_trace_${c.tp}`,
  });
}

test('tp_btf: bpfkit says what each case expects', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  for (const c of cases(btf)) {
    const v = bpfkitVerdict(btf, c);
    assertWant(c.name, v, c.want);
  }
});

test('tp_btf: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  for (const c of cases(btf)) {
    const k = kernelVerdictRaw(build(c.text), TRACING, [], TRACE_RAW_TP, typeId(btf, c.tp));
    const v = bpfkitVerdict(btf, c);
    if (v.unmodelled) {
      assert.deepEqual(c.want, UNMODELLED, `${c.name}: not modelled: ${v.message}`);
      continue;
    }
    assertKernelAgrees(c.name, v, k);
  }
});

test('tp_btf: other tracing attach types, and no kernel BTF, are not modelled', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  const c: Case = { name: 'fentry', tp: 'sched_switch', text: 'r0 = 0\nexit', want: UNMODELLED };
  const fentry = bpfkitVerdict(btf, c, FENTRY);
  assert.equal(fentry.unmodelled, true, fentry.message);
  // The line names the types as bpftool does, not by number alone.
  assert.match(
    fentry.message ?? '',
    /program type tracing \(26\) is not modelled with expected attach type trace_fentry \(24\)/,
  );
  const noBtf = verifyInstructions(build(c.text), { type: TRACING, attachType: TRACE_RAW_TP });
  assert.equal(noBtf.unmodelled, true, noBtf.message);
  const noTarget = verifyInstructions(build(c.text), {
    type: TRACING,
    attachType: TRACE_RAW_TP,
    kernelBtf: btf,
    attachBtfName: 'btf_trace_no_such_tracepoint',
  });
  assert.equal(noTarget.unmodelled, true, noTarget.message);
});

test("tp_btf: the log names BTF pointers as the kernel's does (trusted_ptr_task_struct(off=8))", (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  const text = 'r6 = *(u64 *)(r1 + 8)\ncall 158\nr6 += 8\nr0 = *(u64 *)(r9 + 0)\nexit';
  const v = verifyInstructions(build(text), {
    type: TRACING,
    attachType: TRACE_RAW_TP,
    kernelBtf: btf,
    attachBtfName: 'btf_trace_sched_switch',
    logLevel: 1,
  });
  // The kernel's log also says "func 'sched_switch' arg1 has btf_id N type STRUCT 'task_struct'" under
  // insn 0 (and so prints the next state on its own line): bpfkit does not write that line.
  assert.match(v.log, /\n1: \(85\) call bpf_get_current_task_btf#158 +; R0=trusted_ptr_task_struct\(\)\n/);
  assert.match(v.log, /\n2: \(07\) r6 \+= 8 +; R6=trusted_ptr_task_struct\(off=8\)\n/);
});

test("loadCollection's verify checks a tp_btf program by the kernel's BTF, as bpfkit verify does", async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] }) || skipWithoutBtf(t)) return;
  // prev->pid through sched_switch's trusted task_struct argument: modelled, and the kernel loads it.
  const { spec } = await compileC(
    `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
SEC("tp_btf/sched_switch") int on_switch(__u64 *ctx) {
  struct task_struct *prev = (struct task_struct *)ctx[1];
  return prev->pid == 1;
}
char LICENSE[] SEC("license") = "GPL";`,
    { filename: 'tp-btf-verify.bpf.c' },
  );
  const unmodelled: string[] = [];
  const c = await loadCollection(spec, {
    engine: 'kernel',
    verify: { onUnmodelled: (name, why) => unmodelled.push(`${name}: ${why}`) },
  });
  c.close();
  assert.deepEqual(unmodelled, []);
});
